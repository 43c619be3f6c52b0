"""LIME spurious-feature mining (METHOD.md stage 1): segmentation, engines, criteria, masks.

Heavy imports (lime, skimage, matplotlib) happen inside the functions that need them.
"""
