"""Runtime: where and how model runs execute (local processes or submitit jobs, Hydra launchers) and the EMA
Workbench adapter; the commands themselves are the modules at the top of ``experiments``."""
