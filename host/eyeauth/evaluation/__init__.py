"""The evaluation layer: how well the built models, thresholds and routers do, scored the way
the board scores (int8 samples, template = normalised sum: :mod:`eyeauth.evaluation.scoring`).

It sits above building, preprocessing and TFLM (``eyeauth.models``, ``eyeauth.training``) and
below the board client and the CLI; nothing in the build imports it (the build takes its card
figures through a callback, :func:`eyeauth.evaluation.cards.finish`).
"""
