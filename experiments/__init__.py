"""Entry points, replications and comparisons, tables, plots, the app and notebooks."""
