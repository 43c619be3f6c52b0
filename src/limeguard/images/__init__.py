"""Image sets and where they come from: the ``ImageSet`` container (float32 [0, 1], NCHW, ids,
classes), the sources (CIFAR files, torchvision's download, the JPEG mirror), stratified splits and
the planted spurious cues.

Library code: never imports Kedro.
"""
