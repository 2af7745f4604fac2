"""The board's landmark input and aligned face crop (firmware imgproc, viper, in the MicroPython
VM) against the host reference (eyeauth.models.align): exact, for faces at several scales and
rotations, including crops that run off the frame and every sampling rate (k = 1, 2, 3)."""
import numpy as np
import pytest

from eyeauth import FIRMWARE_DIR, mpvm
from eyeauth.models import align

VM = r'''
import sys
sys.path.insert(0, "{fw}")
from eyeauth_fw import imgproc
f = bytearray(open("{d}/frame.bin", "rb").read())
pts = {pts}
out = open("{d}/out.bin", "wb")
for size in {sizes}:
    out.write(imgproc.aligned_input(f, {w}, {h}, pts, size))
out.write(imgproc.landmark_input(f, {w}, {h}, {box}, 48))
q = bytes(range(0, 250, 25))
print(imgproc.fit(pts, 64), imgproc.points_q4(q, imgproc.landmark_region({box})))
'''


def _points(cx, cy, iod, angle):
    """Five points (1/16 pixel) of a face centred at (cx, cy) with eye distance iod, rotated."""
    t = align.ARCFACE_112 - align.ARCFACE_112.mean(0)
    s = iod / (align.ARCFACE_112[1, 0] - align.ARCFACE_112[0, 0])
    c, n = np.cos(np.radians(angle)), np.sin(np.radians(angle))
    p = (t @ np.array([[c, n], [-n, c]])) * s + (cx, cy)
    return align.points16_from_pixels(p)


@pytest.mark.parametrize("cx,cy,iod,angle", [
    (160, 120, 30, 0),     # k = 1 at 64 px
    (150, 110, 55, -12),   # k = 2
    (170, 130, 95, 25),    # k = 3
    (20, 230, 60, 8),      # runs off the frame's corner
])
def test_aligned_crop_and_landmark_input_match_host(tmp_path, shared_data, cx, cy, iod, angle):
    from eyeauth.datasets import load_image
    from eyeauth.models import face_data
    frame = face_data.camera_frame(load_image(shared_data / "faces/orl/s7/3.pgm"))
    rng = np.random.default_rng(1)
    frame = np.clip(frame.astype(int) + rng.integers(-20, 21, frame.shape), 0, 255).astype(np.uint8)
    frame.tofile(tmp_path / "frame.bin")
    pts = _points(cx, cy, iod, angle)
    box = (int(cx) - 40, int(cy) - 40, 80)
    sizes = (48, 64, 96)
    script = VM.format(fw=FIRMWARE_DIR, d=tmp_path, w=320, h=240, sizes=sizes, box=box,
                       pts=[tuple(int(v) for v in p) for p in pts])
    r = mpvm.run(script, heap_bytes=None, timeout=120, check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    dev = np.frombuffer((tmp_path / "out.bin").read_bytes(), np.int8)
    k = 0
    for size in sizes:
        host = align.face_input(frame, pts, size)
        assert np.array_equal(dev[k:k + size * size].reshape(size, size), host), size
        k += size * size
    assert np.array_equal(dev[k:].reshape(48, 48), align.landmark_input(frame, box))
    fit_dev, pts_dev = r.stdout.strip().split(") [")
    assert fit_dev + ")" == str(tuple(int(v) for v in align.fit(pts, 64)))
    q = np.frombuffer(bytes(range(0, 250, 25)), np.int8)
    host_pts = align.points_q4(q, align.landmark_region(box))
    assert "[" + pts_dev == str([tuple(int(v) for v in p) for p in host_pts])


def test_sampling_rate_follows_scale():
    assert align.samples_per_axis(65536, 0) == 1
    assert align.samples_per_axis(2 * 65536, 0) == 2
    assert align.samples_per_axis(3 * 65536, 0) == 3


def test_detector_box_and_box_points_match_host():
    from eyeauth.models import face_path
    qs = [(0, 0, 0), (-128, -128, -128), (127, 127, 127), (-50, 90, 33), (100, -100, -90)]
    boxes = [(10, 20, 80), (-5, 200, 37), (300, 0, 4)]
    script = ("import sys\nsys.path.insert(0, %r)\nfrom eyeauth_fw import imgproc\n"
              "print([imgproc.detector_box_q(bytes(b & 255 for b in q), 320, 240) for q in %r])\n"
              "print([imgproc.box_points(b) for b in %r])\n") % (str(FIRMWARE_DIR), qs, boxes)
    r = mpvm.run(script, heap_bytes=None, timeout=60, check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    dev_boxes, dev_pts = r.stdout.strip().splitlines()
    assert dev_boxes == str([tuple(face_path.box_from_q(np.array(q, np.int8), (240, 320))) for q in qs])
    assert dev_pts == str([[tuple(int(v) for v in p) for p in align.box_points(b)] for b in boxes])
