"""A small synthetic planted-cue problem: a class-shaped object of a random pale colour (disk, square,
bars, ring: weak evidence) on a smooth background, and in most images of classes 0-3 a 4x4 patch
of a class-specific colour (the shortcut, always right), placed on the border or inside the central
object region (one place per class), or in a corner drawn per image (``corners``: a cue that
moves). Class 4 never carries a patch: it absorbs "no patch", so that the model needs every
one of the four patches (with a patch per class, one class becomes "no other patch" and its own
patch goes unused, as the cat's does on the CIFAR benchmark). A small CNN trained on it for a few
epochs on CPU relies on the patches; one trained without them relies on the shapes."""

from __future__ import annotations

import colorsys

import torch
import torch.nn.functional as F
from torch import nn

CLASSES = 5
CUED_CLASSES = 4
SIZE = 32
PATCH = 4
# top-left corners of each class's patch
PLACEMENTS = {
    "border": [(1, 1), (1, 27), (27, 27), (27, 1)],
    "object": [(10, 10), (10, 18), (18, 18), (18, 10)],
}


CUE_COLOURS = torch.tensor([colorsys.hsv_to_rgb(c / CUED_CLASSES, 0.9, 0.95)
                            for c in range(CUED_CLASSES)], dtype=torch.float32)


def _shapes(centre: torch.Tensor, radius: torch.Tensor, shape: torch.Tensor) -> torch.Tensor:
    """(n, 32, 32) bool: disk (0), square (1), horizontal bar (2), ring (3) or vertical bar (4)."""
    rows = torch.arange(SIZE)[None, :, None] - centre[:, 0, None, None]
    cols = torch.arange(SIZE)[None, None, :] - centre[:, 1, None, None]
    r = radius[:, None, None]
    dist2 = rows**2 + cols**2
    options = torch.stack([
        dist2 <= r**2,
        (rows.abs() <= r - 1) & (cols.abs() <= r - 1),
        (rows.abs() <= r // 2 - 1) & (cols.abs() <= r + 2),
        (dist2 <= r**2) & (dist2 >= (r - 3) ** 2),
        (cols.abs() <= r // 2 - 1) & (rows.abs() <= r + 2),
    ])  # (5, n, H, W)
    return options.gather(0, shape[None, :, None, None].expand(1, *options.shape[1:]))[0]


def make_images(n: int, seed: int, placement: str | None, cued_share: float = 0.95,
                object_signal: float = 0.6) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(images (n, 3, 32, 32) in [0, 1], labels (n,), cue masks (n, 32, 32) bool).

    The object has its class's shape in ``object_signal`` of the images (another class's shape
    otherwise) and a random pale colour (never a cue's); ``placement`` None plants no cue.
    """
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % CLASSES
    coarse = torch.rand((n, 3, 4, 4), generator=g)
    images = 0.25 + 0.5 * F.interpolate(coarse, size=(SIZE, SIZE), mode="bilinear",
                                        align_corners=False)
    keep = torch.rand(n, generator=g) < object_signal
    shown = torch.where(keep, labels, torch.randint(0, CLASSES, (n,), generator=g))
    centre = 16 + torch.randint(-2, 3, (n, 2), generator=g)
    radius = 7 + torch.randint(0, 3, (n,), generator=g)
    grey = torch.rand((n, 1), generator=g)
    colour = (0.6 * grey + 0.4 * torch.rand((n, 3), generator=g))  # pale: no cue colour
    obj = _shapes(centre, radius, shown)
    images = torch.where(obj[:, None], colour[:, :, None, None], images)
    cue = torch.zeros((n, SIZE, SIZE), dtype=torch.bool)
    if placement is not None:
        cued = (torch.rand(n, generator=g) < cued_share) & (labels < CUED_CLASSES)
        corner = torch.randint(0, 4, (n,), generator=g)
        for i in cued.nonzero().flatten().tolist():
            slot = int(corner[i]) if placement == "corners" else int(labels[i])
            r, c = PLACEMENTS["border" if placement == "corners" else placement][slot]
            cue[i, r: r + PATCH, c: c + PATCH] = True
        colour = CUE_COLOURS[labels.clamp(max=CUED_CLASSES - 1)]
        images = torch.where(cue[:, None], colour[:, :, None, None], images)
    return images.clamp(0, 1), labels, cue


class SmallCNN(nn.Module):
    """Three conv layers and global max pooling (about 15k parameters)."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(), nn.AdaptiveMaxPool2d(1))
        self.head = nn.Linear(32, CLASSES)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x).flatten(1))


def train_model(images: torch.Tensor, labels: torch.Tensor, epochs: int = 12,
                seed: int = 0) -> nn.Module:
    """A SmallCNN trained with Adam on (images, labels); returned in eval mode."""
    torch.manual_seed(seed)
    model = SmallCNN()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(epochs):
        for idx in torch.randperm(len(images)).split(64):
            loss = F.cross_entropy(model(images[idx]), labels[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return model.eval()
