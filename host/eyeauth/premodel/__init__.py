"""The premodel: cheap integer features of each input and a tiny integer classifier that pick
which zoo model runs on it (adaptive model selection, Marco et al. arXiv 1911.04946).

* :mod:`features` the numpy reference of firmware/eyeauth_fw/features.py (equal integers);
* :mod:`augment`, :mod:`data` inputs, embeddings (cached) and per-input correctness of every model;
* :mod:`select`, :mod:`classify` oracle labels, feature selection, trees / KNN / constant choice;
* :mod:`export` the integer file the board reads (models/premodel_<modality>.json);
* :mod:`cost` modeled ESP-EYE latency of each model's path and of the premodel itself;
* :mod:`train` `eyeauth premodel train|eval`.
"""
