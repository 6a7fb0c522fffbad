"""Test suite of alianzas (importable as ``tests`` so modules can share constants)."""
