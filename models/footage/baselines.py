"""The simple answers a footage model has to beat (../shared/specs/footage.md, Calibration), made at the source's
size: holding the last real frame, a linear crossfade across a gap, classical optical flow (Farneback; OpenCV is
imported only here, so the judge needs numpy alone), and the truth softened by a small blur."""
from __future__ import annotations

import math

import numpy as np

# Farneback as OpenCV's own example calls it: pyramid scale 0.5, 3 levels, 15 px windows, 3 iterations, poly_n 5,
# poly_sigma 1.2.
FARNEBACK = dict(pyr_scale=0.5, levels=3, winsize=15, iterations=3, poly_n=5, poly_sigma=1.2, flags=0)


def hold(before: np.ndarray, count: int) -> np.ndarray:
    """The last real frame, held for count frames."""
    return np.repeat(before[-1:], count, axis=0)


def crossfade(last_before: np.ndarray, first_after: np.ndarray, count: int) -> np.ndarray:
    """count frames fading linearly from the last frame before a gap to the first after it (neither repeated)."""
    weights = ((np.arange(count) + 1) / (count + 1)).astype(np.float32)[:, None, None, None]
    mixed = (1 - weights) * last_before.astype(np.float32) + weights * first_after.astype(np.float32)
    return np.clip(np.rint(mixed), 0, 255).astype(np.uint8)


def soften(frames: np.ndarray, sigma: float = 1.0) -> np.ndarray:
    """Frames blurred by a Gaussian of sigma px (cut at 3 sigma, edges replicated)."""
    radius = max(1, math.ceil(3 * sigma))
    kernel = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    kernel /= kernel.sum()
    x = frames.astype(np.float32)
    for axis in (1, 2):
        n = x.shape[axis]
        padded = np.take(x, np.clip(np.arange(-radius, n + radius), 0, n - 1), axis)
        x = sum(w * np.take(padded, np.arange(k, k + n), axis) for k, w in enumerate(kernel))
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


def _flow(cv2, source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """[H, W, 2]: where each pixel of source lies in target (x, y offsets)."""
    gray = [cv2.cvtColor(np.ascontiguousarray(f), cv2.COLOR_RGB2GRAY) for f in (source, target)]
    return cv2.calcOpticalFlowFarneback(gray[0], gray[1], None, **FARNEBACK)


def _warp(cv2, image: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """image sampled at each pixel + offset [H, W, 2] (bilinear, edges replicated), as float32."""
    h, w = image.shape[:2]
    grid = np.stack(np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32)), -1) + offset
    return cv2.remap(image.astype(np.float32), grid[..., 0], grid[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def flow_extend(before: np.ndarray, count: int) -> np.ndarray:
    """The last real frame carried on at its last velocity: frame j after it samples the last frame where its pixels
    were j frames earlier, by the flow from the last frame back to the one before it."""
    import cv2
    back = _flow(cv2, before[-1], before[-2]) if len(before) > 1 else np.zeros((*before.shape[1:3], 2), np.float32)
    frames = [_warp(cv2, before[-1], j * back) for j in range(1, count + 1)]
    return np.clip(np.rint(np.stack(frames)), 0, 255).astype(np.uint8)


def flow_fill(last_before: np.ndarray, first_after: np.ndarray, count: int) -> np.ndarray:
    """Both sides warped toward each other along their flows and mixed linearly: frame i of the gap lies at
    t = (i + 1) / (count + 1) of the way from the frame before to the frame after."""
    import cv2
    forward, backward = _flow(cv2, last_before, first_after), _flow(cv2, first_after, last_before)
    frames = []
    for i in range(count):
        t = (i + 1) / (count + 1)
        frames.append((1 - t) * _warp(cv2, last_before, -t * forward) + t * _warp(cv2, first_after, -(1 - t) * backward))
    return np.clip(np.rint(np.stack(frames)), 0, 255).astype(np.uint8)
