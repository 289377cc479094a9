"""The toolbox that claims build on: measurements and procedures about training.

Each module holds one tool (augmentation, hyper-parameter search, transfer, gradient
noise, Hessian spectra, dead units, probes, ...), sits beside the data and models it
measures, and is imported by claims and users directly (``from atomcheck.toolbox import
search``); ``import atomcheck`` loads none of it. Tools may use the engine and models,
never the statistics, verdicts or plugin above them.
"""
