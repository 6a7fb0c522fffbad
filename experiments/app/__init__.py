"""The browser view (SolaraViz): ``solara run experiments/app/page.py`` or ``alianzas app``; its worlds
(``model``), its panels (``panels``) and its page (``page``)."""
