"""Sensory encoders: a stimulus -> Poisson rates (Hz) on the neurons of sensory regions.

Each encoder is built from the neurons it drives (indices into the network, with the hemisphere
of each) and returns a rate per driven neuron; the brain adds those rates to the neurons'
external Poisson drive (the sum of Poisson processes is a Poisson process).

Visual receptive fields (:class:`VisualEncoder`)
    An image is ``size x size`` pixels in [0, 1] (default 8 x 8). The visual field is split at the
    vertical midline: the left half (columns < size/2) projects to the right hemisphere, the right
    half to the left hemisphere (contralateral, as in the primate visual system). Within a
    hemisphere, the driven neurons are assigned in order to the hemifield's pixels, raster order
    (row by row), cycling, so neuron ``k`` of a hemisphere has its receptive field centred on pixel
    ``k mod (size * size/2)`` of its hemifield. A receptive field is an isotropic Gaussian of SD
    ``rf_sigma`` pixels, normalised to sum 1; a neuron's rate is ``max_rate * sum(RF * image)``.
    Neurons without a pixel (none when there are fewer neurons than pixels) get nothing.

Auditory tonotopy (:class:`AuditoryEncoder`)
    A tone of frequency ``f`` Hz (20 Hz .. 20 kHz) sits at ``x = log(f / 20) / log(1000)`` in [0, 1].
    The driven neurons of each hemisphere get best frequencies evenly spaced in x (low to high in
    neuron order); rate = ``max_rate * exp(-(x - x_k)**2 / (2 sigma**2))``; both hemispheres hear
    every tone (the auditory pathway is bilateral).

Touch (:class:`TouchEncoder`)
    ``left``, ``right`` or ``both``: the contralateral hemisphere's driven neurons (left body side ->
    right hemisphere) fire at ``max_rate``; ``both`` drives both hemispheres.
"""
from __future__ import annotations

import numpy as np

# 8 x 8 bitmaps: '#' on, '.' off. Letters and shapes; names are case-insensitive.
_BITMAPS = {
    "A": ["..####..", ".##..##.", "##....##", "##....##", "########", "##....##", "##....##", "##....##"],
    "B": ["######..", "##...##.", "##...##.", "######..", "##...##.", "##....##", "##...##.", "######.."],
    "C": ["..#####.", ".##...##", "##......", "##......", "##......", "##......", ".##...##", "..#####."],
    "D": ["#####...", "##..##..", "##...##.", "##....##", "##....##", "##...##.", "##..##..", "#####..."],
    "E": ["########", "##......", "##......", "######..", "##......", "##......", "##......", "########"],
    "F": ["########", "##......", "##......", "######..", "##......", "##......", "##......", "##......"],
    "H": ["##....##", "##....##", "##....##", "########", "##....##", "##....##", "##....##", "##....##"],
    "X": ["##....##", ".##..##.", "..####..", "...##...", "...##...", "..####..", ".##..##.", "##....##"],
    # the grid world's goal directions: a bright bar at that edge of the visual field (little overlap)
    "UP": ["########", "########"] + ["........"] * 6,
    "DOWN": ["........"] * 6 + ["########", "########"],
    "LEFT": ["##......"] * 8,
    "RIGHT": ["......##"] * 8,
    "SQUARE": ["########", "#......#", "#......#", "#......#", "#......#", "#......#", "#......#", "########"],
    "DOT": ["........", "........", "........", "...##...", "...##...", "........", "........", "........"],
    "BLANK": ["........"] * 8,
}
PATTERNS = tuple(sorted(_BITMAPS))


def pattern(name: str, size: int = 8) -> np.ndarray:
    """A named pattern as a ``size x size`` float image in [0, 1] (the 8 x 8 bitmap, block-resized)."""
    key = str(name).upper()
    if key not in _BITMAPS:
        raise ValueError(f"unknown pattern {name!r}; patterns: {', '.join(PATTERNS)} (or a .png/.npy image file)")
    img = np.array([[c == "#" for c in row] for row in _BITMAPS[key]], dtype=np.float64)
    return resize(img, size)


def resize(img: np.ndarray, size: int) -> np.ndarray:
    """Nearest/area resize of a 2-D image to ``size x size`` (block means when shrinking)."""
    img = np.asarray(img, dtype=np.float64)
    if img.ndim != 2 or min(img.shape) < 1:
        raise ValueError(f"an image must be 2-D and non-empty, got shape {img.shape}")
    rows = np.linspace(0, img.shape[0], size + 1)
    cols = np.linspace(0, img.shape[1], size + 1)
    out = np.empty((size, size))
    for i in range(size):
        r0, r1 = int(rows[i]), max(int(rows[i]) + 1, int(np.ceil(rows[i + 1])))
        for j in range(size):
            c0, c1 = int(cols[j]), max(int(cols[j]) + 1, int(np.ceil(cols[j + 1])))
            out[i, j] = img[r0:r1, c0:c1].mean()
    return out


def load_image(path, size: int = 8) -> np.ndarray:
    """A small image file (.png via matplotlib, .npy) as a ``size x size`` grey image in [0, 1]
    (bright = on)."""
    from pathlib import Path

    p = Path(path)
    if not p.is_file():
        raise ValueError(f"image file {str(path)!r} not found")
    if p.suffix.lower() == ".npy":
        img = np.load(p)
    else:
        import matplotlib.image as mpimg

        img = mpimg.imread(p)
    img = np.asarray(img, dtype=np.float64)
    if img.ndim == 3:
        img = img[..., :3].mean(axis=2)
    if img.ndim != 2:
        raise ValueError(f"{path}: not a 2-D (grey or colour) image (shape {img.shape})")
    lo, hi = float(np.nanmin(img)), float(np.nanmax(img))
    img = (img - lo) / (hi - lo) if hi > lo else np.zeros_like(img)
    return resize(img, size)


def _split_hemispheres(hemisphere) -> dict[str, np.ndarray]:
    h = np.asarray(hemisphere).astype(str)
    bad = sorted(set(h) - {"L", "R"})
    if bad:
        raise ValueError(f"encoder neurons need hemisphere 'L' or 'R', got {bad}")
    return {s: np.flatnonzero(h == s) for s in ("L", "R")}


class VisualEncoder:
    """Image -> rates on visual neurons (module docstring: the receptive-field mapping)."""

    def __init__(self, hemisphere, size: int = 8, max_rate: float = 400.0, rf_sigma: float = 0.5):
        if size < 2 or size % 2:
            raise ValueError(f"visual field size must be an even number >= 2, got {size}")
        if max_rate < 0 or rf_sigma <= 0:
            raise ValueError("visual encoder: max_rate must be >= 0 and rf_sigma > 0")
        self.size, self.max_rate, self.rf_sigma = int(size), float(max_rate), float(rf_sigma)
        hemi = _split_hemispheres(hemisphere)
        n = len(np.asarray(hemisphere))
        half = size // 2
        self.centre = np.full((n, 2), -1, dtype=np.int64)   # (row, column) of each neuron's RF centre
        for side, idx in hemi.items():
            col0 = half if side == "L" else 0     # left hemisphere sees the right hemifield
            k = np.arange(idx.size) % (size * half)
            self.centre[idx, 0] = k // half
            self.centre[idx, 1] = col0 + k % half
        yy, xx = np.mgrid[0:size, 0:size]
        d2 = (yy[None] - self.centre[:, 0, None, None]) ** 2 + (xx[None] - self.centre[:, 1, None, None]) ** 2
        rf = np.exp(-d2 / (2 * rf_sigma ** 2)).reshape(n, -1)
        self.rf = rf / rf.sum(axis=1, keepdims=True)          # (n, size*size)

    @property
    def n(self) -> int:
        return int(self.rf.shape[0])

    def rates(self, image: np.ndarray) -> np.ndarray:
        img = np.asarray(image, dtype=np.float64)
        if img.shape != (self.size, self.size):
            raise ValueError(f"visual encoder: image must be {self.size} x {self.size}, got {img.shape}")
        if not np.all(np.isfinite(img)) or img.min() < 0 or img.max() > 1:
            raise ValueError("visual encoder: pixel values must be finite and within [0, 1]")
        return self.max_rate * (self.rf @ img.ravel())


F_MIN, F_MAX = 20.0, 20000.0


def tone_position(freq: float) -> float:
    """Position of a tone on the tonotopic axis, log-frequency in [0, 1] (20 Hz .. 20 kHz)."""
    f = float(freq)
    if not np.isfinite(f) or not F_MIN <= f <= F_MAX:
        raise ValueError(f"tone frequency {freq!r} Hz: must be within {F_MIN:g}..{F_MAX:g} Hz")
    return float(np.log(f / F_MIN) / np.log(F_MAX / F_MIN))


class AuditoryEncoder:
    """Tone frequency -> rates on auditory neurons along a tonotopic axis (module docstring)."""

    def __init__(self, hemisphere, max_rate: float = 400.0, sigma: float = 0.08):
        if max_rate < 0 or sigma <= 0:
            raise ValueError("auditory encoder: max_rate must be >= 0 and sigma > 0")
        self.max_rate, self.sigma = float(max_rate), float(sigma)
        hemi = _split_hemispheres(hemisphere)
        self.best = np.zeros(len(np.asarray(hemisphere)))
        for idx in hemi.values():
            self.best[idx] = (np.arange(idx.size) + 0.5) / max(idx.size, 1)

    def best_frequency(self) -> np.ndarray:
        return F_MIN * (F_MAX / F_MIN) ** self.best

    def rates(self, freq: float) -> np.ndarray:
        x = tone_position(freq)
        return self.max_rate * np.exp(-(x - self.best) ** 2 / (2 * self.sigma ** 2))


SIDES = ("left", "right", "both")


class TouchEncoder:
    """Touch on a body side -> rates on the contralateral somatosensory neurons."""

    def __init__(self, hemisphere, max_rate: float = 400.0):
        self.max_rate = float(max_rate)
        self.hemi = _split_hemispheres(hemisphere)
        self.n = len(np.asarray(hemisphere))

    def rates(self, side: str) -> np.ndarray:
        s = str(side).lower()
        if s not in SIDES:
            raise ValueError(f"touch side {side!r}: must be one of {', '.join(SIDES)}")
        out = np.zeros(self.n)
        if s in ("left", "both"):
            out[self.hemi["R"]] = self.max_rate
        if s in ("right", "both"):
            out[self.hemi["L"]] = self.max_rate
        return out
