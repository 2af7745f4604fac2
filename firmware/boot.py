# Runs on every reset before main.py (and before the raw REPL). Keep it tiny.
import gc

gc.collect()
