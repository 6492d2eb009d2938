"""Tests for lnviz.data: MNIST (download, cache, fallback, IDX parsing), views, the adding problem.

No test reaches the internet: downloads go to a loopback HTTP server that serves small IDX files the
tests generate, and an autouse guard fails any test that tries to resolve or connect elsewhere.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.resources
import os
import socket
import subprocess
import sys
import threading
import time
import warnings
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
import torch

from lnviz.data import (
    MNIST_BYTES,
    MNIST_FILES,
    VALID_PIXELS_PER_STEP,
    Digits,
    MNISTFallbackWarning,
    adding_problem,
    as_sequences,
    as_vectors,
    mnist,
    parse_idx,
    pixel_permutation,
)

# A fallback nobody asked for fails the test; tests that expect one catch it explicitly.
pytestmark = pytest.mark.filterwarnings("error::lnviz.data.MNISTFallbackWarning")

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


@pytest.fixture(autouse=True)
def no_internet(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test (not merely raise OSError, which mnist would treat as 'offline') on any
    name look-up or connection beyond loopback."""
    real_connect = socket.socket.connect
    real_getaddrinfo = socket.getaddrinfo

    def connect(sock: socket.socket, address) -> None:
        if isinstance(address, tuple) and address[0] not in LOOPBACK:
            pytest.fail(f"a test tried to connect to {address}")
        return real_connect(sock, address)

    def getaddrinfo(host, *args, **kwargs):
        if host not in LOOPBACK:
            pytest.fail(f"a test tried to look up {host}")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    # A proxy from the environment would turn loopback requests into outside ones.
    monkeypatch.setenv("no_proxy", "*")


def idx(array: np.ndarray, type_code: int = 0x08) -> bytes:
    """The IDX encoding of a uint8 array: magic number, big-endian sizes, values."""
    header = bytes([0, 0, type_code, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    return header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


def gz(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def synthetic(n: int, seed: int) -> Digits:
    rng = np.random.default_rng(seed)
    return Digits(
        rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8),
        rng.integers(0, 10, size=n).astype(np.int64),
    )


@dataclass
class FakeMirror:
    """What the loopback server serves, and what it was asked for."""

    url: str = ""
    digits: dict[str, Digits] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)
    sha256: dict[str, str] = field(default_factory=dict)
    # file name -> "truncate" (announce the full length, send half, close), "hang" (send nothing),
    # "trickle" (one byte every TRICKLE_SECONDS), "flood" (FLOOD_BYTES of zeros, no length announced)
    # or "announce" (announce ANNOUNCED_BYTES, send the file)
    mode: dict[str, str] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    sent: dict[str, int] = field(default_factory=dict)


TRICKLE_SECONDS = 0.05
FLOOD_BYTES = 64 << 20
ANNOUNCED_BYTES = 300_000_000


@pytest.fixture
def mirror():
    """A loopback HTTP server (ephemeral port, own thread) serving MNIST-named IDX files:
    50 train and 30 test digits, at ``mirror.url``, and the same files with one byte flipped under
    ``/corrupt/`` instead of ``/mnist/``; other paths give 404."""
    served = FakeMirror()
    for split, n in (("train", 50), ("test", 30)):
        served.digits[split] = synthetic(n, seed=len(split))
        images_name, labels_name = MNIST_FILES[split]
        served.files[images_name] = gz(idx(served.digits[split].images))
        served.files[labels_name] = gz(idx(served.digits[split].labels.astype(np.uint8)))
    served.sha256 = {name: sha(data) for name, data in served.files.items()}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            served.requests.append(self.path)
            folder, _, name = self.path.rpartition("/")
            if folder not in ("/mnist", "/corrupt") or name not in served.files:
                self.send_error(404)
                return
            body = served.files[name]
            if folder == "/corrupt":
                body = body[:100] + bytes([body[100] ^ 0xFF]) + body[101:]
            mode = served.mode.get(name)
            if mode == "hang":
                time.sleep(1.0)
                return
            self.send_response(200)
            if mode != "flood":
                self.send_header("Content-Length", str(ANNOUNCED_BYTES if mode == "announce" else len(body)))
            self.end_headers()
            if mode == "truncate":
                self.wfile.write(body[: len(body) // 2])
                self.close_connection = True
                return
            try:
                if mode == "trickle":
                    for byte in body:
                        self.wfile.write(bytes([byte]))
                        time.sleep(TRICKLE_SECONDS)
                elif mode == "flood":
                    chunk = bytes(1 << 16)
                    for _ in range(FLOOD_BYTES // len(chunk)):
                        self.wfile.write(chunk)
                        served.sent[name] = served.sent.get(name, 0) + len(chunk)
                else:
                    self.wfile.write(body)
            except OSError:  # the client hung up, as it should on a body it does not want
                pass
            self.close_connection = True

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    served.url = f"http://127.0.0.1:{server.server_address[1]}/mnist/"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield served
    server.shutdown()
    server.server_close()
    thread.join()


def cached(root: Path) -> list[str]:
    folder = root / "mnist"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def shipped() -> Digits:
    with importlib.resources.files("lnviz").joinpath("_data", "mnist10k.npz").open("rb") as f:
        data = np.load(f)
        return Digits(data["images"], data["labels"].astype(np.int64))


def rows(digits: Digits) -> list[bytes]:
    """Each digit as one hashable row (label + pixels), sorted: compares collections of digits."""
    return sorted(bytes([label]) + image.tobytes() for image, label in zip(digits.images, digits.labels))


# --- download, cache and checksums ----------------------------------------------------------------


def test_download_parses_the_idx_files_and_reads_them_from_the_cache_afterwards(mirror, tmp_path):
    for split in ("train", "test"):
        digits = mnist(split, root=tmp_path, mirrors=(mirror.url,), sha256=mirror.sha256)
        np.testing.assert_array_equal(digits.images, mirror.digits[split].images)
        np.testing.assert_array_equal(digits.labels, mirror.digits[split].labels)
        assert digits.images.dtype == np.uint8 and digits.labels.dtype == np.int64
        assert digits.images.flags.writeable
    assert cached(tmp_path) == sorted(mirror.files)

    asked = len(mirror.requests)
    again = mnist("train", root=tmp_path, mirrors=(mirror.url,), sha256=mirror.sha256)
    assert len(mirror.requests) == asked
    np.testing.assert_array_equal(again.images, mirror.digits["train"].images)


def test_the_next_mirror_is_tried_when_one_lacks_the_file(mirror, tmp_path):
    missing = mirror.url.replace("/mnist/", "/elsewhere/")
    digits = mnist("test", root=tmp_path, mirrors=(missing, mirror.url), sha256=mirror.sha256)
    np.testing.assert_array_equal(digits.images, mirror.digits["test"].images)
    assert "/elsewhere/t10k-images-idx3-ubyte.gz" in mirror.requests


def test_a_corrupted_file_raises_naming_it_and_both_checksums_and_is_not_kept(mirror, tmp_path):
    name = "train-images-idx3-ubyte.gz"
    good = mirror.files[name]
    mirror.files[name] = good[:100] + bytes([good[100] ^ 0xFF]) + good[101:]
    with pytest.raises(ValueError) as error:
        mnist("train", root=tmp_path, mirrors=(mirror.url,), sha256=mirror.sha256)
    message = str(error.value)
    assert name in message
    assert mirror.sha256[name] in message and sha(mirror.files[name]) in message
    assert cached(tmp_path) == []


@pytest.mark.parametrize("broken", MNIST_FILES["train"])
def test_an_interrupted_transfer_raises_leaves_no_partial_file_and_a_retry_succeeds(mirror, tmp_path, broken):
    names = MNIST_FILES["train"]
    mirror.mode[broken] = "truncate"
    with pytest.raises(ConnectionError, match=rf"{broken}.*ended after \d+ of \d+ bytes"):
        mnist("train", root=tmp_path, mirrors=(mirror.url,), sha256=mirror.sha256, fallback=False)
    # Only files that arrived whole and verified, never the interrupted one or a temporary file.
    assert cached(tmp_path) == list(names[: names.index(broken)])

    del mirror.mode[broken]
    asked = len(mirror.requests)
    digits = mnist("train", root=tmp_path, mirrors=(mirror.url,), sha256=mirror.sha256)
    np.testing.assert_array_equal(digits.labels, mirror.digits["train"].labels)
    assert cached(tmp_path) == sorted(names)
    assert len(mirror.requests) - asked == len(names) - names.index(broken)


def test_an_interrupted_transfer_falls_back_to_the_shipped_digits_by_default(mirror, tmp_path):
    mirror.mode["train-images-idx3-ubyte.gz"] = "truncate"
    with pytest.warns(MNISTFallbackWarning, match="download failed"):
        digits = mnist("train", root=tmp_path, mirrors=(mirror.url,), sha256=mirror.sha256)
    assert digits.images.shape == (8000, 28, 28)
    assert cached(tmp_path) == []


def test_a_server_that_does_not_answer_times_out(mirror, tmp_path):
    mirror.mode["t10k-images-idx3-ubyte.gz"] = "hang"
    with pytest.raises(ConnectionError, match="t10k-images-idx3-ubyte.gz"):
        mnist("test", root=tmp_path, mirrors=(mirror.url,), sha256=mirror.sha256, timeout=0.2, fallback=False)
    assert cached(tmp_path) == []


def test_a_server_that_trickles_bytes_is_abandoned_at_the_deadline(mirror, tmp_path):
    # A byte every 50 ms never leaves the socket idle for `timeout`; only the deadline ends it.
    name = "t10k-labels-idx1-ubyte.gz"
    mirror.mode[name] = "trickle"
    assert len(mirror.files[name]) * TRICKLE_SECONDS > 2.0
    start = time.monotonic()
    with pytest.raises(ConnectionError, match=rf"{name}.*deadline of 0.3 s"):
        mnist(
            "test",
            root=tmp_path,
            mirrors=(mirror.url,),
            sha256=mirror.sha256,
            timeout=0.2,
            deadline=0.3,
            fallback=False,
        )
    assert time.monotonic() - start < 1.5
    assert cached(tmp_path) == ["t10k-images-idx3-ubyte.gz"]


@pytest.mark.parametrize("mode", ["flood", "announce"])
def test_a_body_larger_than_the_file_is_stopped_and_not_kept(mirror, tmp_path, mode):
    name = "t10k-labels-idx1-ubyte.gz"
    mirror.mode[name] = mode
    expected = "more than the" if mode == "flood" else f"announced {ANNOUNCED_BYTES} bytes, more than the"
    with pytest.raises(ValueError, match=rf"{name}.*{expected} \d+ bytes expected at most"):
        mnist("test", root=tmp_path, mirrors=(mirror.url,), sha256=mirror.sha256)
    # Stopped near the cap (a few socket buffers of slack), long before the body's end.
    assert mirror.sent.get(name, 0) < FLOOD_BYTES // 4
    assert cached(tmp_path) == ["t10k-images-idx3-ubyte.gz"]


def test_the_size_cap_leaves_room_for_the_real_files():
    assert set(MNIST_BYTES) == {name for names in MNIST_FILES.values() for name in names}
    # The standard training images, 60,000 of them in 9.9 MB of gzip.
    assert 9_000_000 < MNIST_BYTES["train-images-idx3-ubyte.gz"] < 11_000_000


def test_a_corrupt_file_from_one_mirror_is_replaced_from_the_next(mirror, tmp_path):
    corrupt = mirror.url.replace("/mnist/", "/corrupt/")
    digits = mnist("test", root=tmp_path, mirrors=(corrupt, mirror.url), sha256=mirror.sha256, fallback=False)
    np.testing.assert_array_equal(digits.images, mirror.digits["test"].images)
    assert {f"/corrupt/{name}" for name in MNIST_FILES["test"]} <= set(mirror.requests)
    assert cached(tmp_path) == sorted(MNIST_FILES["test"])


def test_a_killed_download_leaves_a_part_file_that_the_next_call_deletes(mirror, tmp_path):
    mirror.mode["t10k-images-idx3-ubyte.gz"] = "trickle"
    call = (
        f"from lnviz.data import mnist; mnist('test', root={str(tmp_path)!r}, mirrors=({mirror.url!r},), "
        f"sha256={mirror.sha256!r}, timeout=60, deadline=60, fallback=False)"
    )
    download = subprocess.Popen([sys.executable, "-c", call])
    try:
        give_up = time.monotonic() + 60
        while not any(name.endswith(".part") for name in cached(tmp_path)):
            assert download.poll() is None and time.monotonic() < give_up, "the download never started"
            time.sleep(0.05)
    finally:
        download.kill()  # SIGKILL: no except or finally clause of the download runs
        download.wait()
    assert [name for name in cached(tmp_path) if name.endswith(".part")]

    del mirror.mode["t10k-images-idx3-ubyte.gz"]
    mnist("test", root=tmp_path, mirrors=(mirror.url,), sha256=mirror.sha256, fallback=False)
    assert cached(tmp_path) == sorted(MNIST_FILES["test"])


def test_the_part_file_of_a_live_download_is_left_alone(mirror, tmp_path):
    fcntl = pytest.importorskip("fcntl")
    (tmp_path / "mnist").mkdir()
    live = tmp_path / "mnist" / ".t10k-images-idx3-ubyte.gz.other.part"
    with live.open("wb") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # as a download in another notebook holds it
        mnist("test", root=tmp_path, mirrors=(mirror.url,), sha256=mirror.sha256, fallback=False)
        assert live.exists()


def unwritable_directory(tmp_path: Path) -> Path:
    """A directory this process cannot create anything in."""
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    if not os.access(folder, os.W_OK):
        return folder
    # Root ignores permissions; /sys refuses new directories even to root.
    try:
        (Path("/sys") / "lnviz-probe").mkdir()
    except OSError:
        return Path("/sys")
    pytest.skip("no directory here refuses to be written to")


@pytest.mark.parametrize("kind", ["read-only directory", "regular file"])
def test_a_cache_root_that_cannot_be_written_falls_back_to_the_shipped_digits(mirror, tmp_path, kind):
    if kind == "regular file":
        root = tmp_path / "a-file"
        root.write_text("not a directory")
    else:
        root = unwritable_directory(tmp_path)
    with pytest.warns(MNISTFallbackWarning, match="cannot be written"):
        digits = mnist("test", root=root, mirrors=(mirror.url,), sha256=mirror.sha256)
    assert digits.images.shape == (2000, 28, 28)
    assert mirror.requests == []
    with pytest.raises(OSError):
        mnist("test", root=root, mirrors=(mirror.url,), sha256=mirror.sha256, fallback=False)


def test_a_refused_connection_falls_back_with_one_line(tmp_path):
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.warns(MNISTFallbackWarning) as said:
        digits = mnist("test", root=tmp_path, mirrors=(f"http://127.0.0.1:{port}/mnist/",))
    assert digits.images.shape == (2000, 28, 28)
    message = str(said[0].message)
    assert "download failed" in message and "download=False" in message and "\n" not in message


def test_a_tampered_cache_file_raises_instead_of_being_used(mirror, tmp_path):
    mnist("train", root=tmp_path, mirrors=(mirror.url,), sha256=mirror.sha256)
    path = tmp_path / "mnist" / "train-labels-idx1-ubyte.gz"
    path.write_bytes(path.read_bytes() + b"\x00")
    with pytest.raises(ValueError, match="train-labels-idx1-ubyte.gz.*delete it"):
        mnist("train", root=tmp_path, mirrors=(mirror.url,), sha256=mirror.sha256)


def test_the_default_download_goes_to_the_standard_mirror_and_the_guard_stops_it(tmp_path):
    with pytest.raises(pytest.fail.Exception, match="ossci-datasets.s3.amazonaws.com"):
        mnist("test", root=tmp_path)
    assert cached(tmp_path) == []


def test_the_cache_root_defaults_to_lnviz_data(mirror, tmp_path, monkeypatch):
    monkeypatch.setenv("LNVIZ_DATA", str(tmp_path))
    (tmp_path / "mnist").mkdir()
    for name in MNIST_FILES["test"]:
        (tmp_path / "mnist" / name).write_bytes(mirror.files[name])
    digits = mnist("test", download=False, sha256=mirror.sha256)
    np.testing.assert_array_equal(digits.images, mirror.digits["test"].images)


# --- strict IDX parsing ---------------------------------------------------------------------------


def malformed(case: str) -> tuple[bytes, bytes]:
    images, labels = synthetic(50, seed=7)
    images_idx, labels_idx = idx(images), idx(labels.astype(np.uint8))
    if case == "labels magic in the images file":
        images_idx = idx(images.reshape(-1))
    elif case == "float type code":
        images_idx = idx(images, type_code=0x0D)
    elif case == "short payload":
        images_idx = images_idx[:-784]
    elif case == "27 x 28 images":
        images_idx = idx(images[:, :27, :])
    elif case == "one label missing":
        labels_idx = idx(labels[:-1].astype(np.uint8))
    elif case == "label 10":
        labels_idx = idx(np.where(np.arange(50) == 3, 10, labels).astype(np.uint8))
    return images_idx, labels_idx


@pytest.mark.parametrize(
    "case, expected",
    [
        ("labels magic in the images file", r"train-images-idx3-ubyte.gz.*0x00000803.*0x00000801"),
        ("float type code", r"train-images-idx3-ubyte.gz.*0x00000803.*0x00000d03"),
        ("short payload", r"train-images-idx3-ubyte.gz: expected 39216 bytes.*got 38432"),
        ("27 x 28 images", r"train-images-idx3-ubyte.gz: expected 28 x 28 images"),
        ("one label missing", r"train-labels-idx1-ubyte.gz: expected 50 labels.*got 49"),
        ("label 10", r"train-labels-idx1-ubyte.gz: expected labels 0..9, got 10"),
    ],
)
def test_malformed_idx_files_raise_naming_the_file_and_the_problem(tmp_path, case, expected):
    (tmp_path / "mnist").mkdir()
    sums = {}
    for name, data in zip(MNIST_FILES["train"], malformed(case)):
        (tmp_path / "mnist" / name).write_bytes(gz(data))
        sums[name] = sha(gz(data))
    with pytest.raises(ValueError, match=expected):
        mnist("train", download=False, root=tmp_path, sha256=sums)


def test_parse_idx_rejects_data_shorter_than_its_header():
    with pytest.raises(ValueError, match="only 2 bytes"):
        parse_idx(b"\x00\x00")
    with pytest.raises(ValueError, match="header of 12 bytes"):
        parse_idx(b"\x00\x00\x08\x02\x00\x00\x00\x05")


def test_parse_idx_round_trips_any_shape():
    array = np.arange(2 * 3 * 4 * 5, dtype=np.uint8).reshape(2, 3, 4, 5)
    np.testing.assert_array_equal(parse_idx(idx(array)), array)


# --- the shipped fallback -------------------------------------------------------------------------


def test_without_a_cache_and_without_download_the_shipped_digits_are_split_8000_2000(tmp_path):
    with pytest.warns(MNISTFallbackWarning, match="shipped"):
        train = mnist("train", download=False, root=tmp_path)
        test = mnist("test", download=False, root=tmp_path)
    assert train.images.shape == (8000, 28, 28) and train.labels.shape == (8000,)
    assert test.images.shape == (2000, 28, 28) and test.labels.shape == (2000,)
    assert train.images.dtype == np.uint8 and train.labels.dtype == np.int64
    assert cached(tmp_path) == [] and not (tmp_path / "mnist").exists()

    # Together exactly the shipped digits, each once.
    everything = shipped()
    together = Digits(np.concatenate([train.images, test.images]), np.concatenate([train.labels, test.labels]))
    assert rows(together) == rows(everything)

    # Stratified: every class gives a fifth of its digits to the test split, to rounding.
    per_class = np.bincount(everything.labels, minlength=10)
    assert np.all(np.abs(np.bincount(test.labels, minlength=10) - per_class / 5) <= 1)
    # Shuffled: the shipped file is sorted by class, the split must not be.
    assert len(set(train.labels[:100].tolist())) == 10
    assert len(set(test.labels[:100].tolist())) == 10


def test_the_shipped_split_is_the_same_on_every_call(tmp_path):
    with pytest.warns(MNISTFallbackWarning):
        first, second = (mnist("train", download=False, root=tmp_path) for _ in range(2))
    np.testing.assert_array_equal(first.images, second.images)
    np.testing.assert_array_equal(first.labels, second.labels)


def test_the_fallback_is_announced_once_not_on_every_call(tmp_path):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")  # Python's own setting in a notebook
        for split in ("train", "test", "train", "test"):
            mnist(split, download=False, root=tmp_path)
    said = [w for w in caught if issubclass(w.category, MNISTFallbackWarning)]
    assert len(said) == 1
    assert "\n" not in str(said[0].message) and str(tmp_path) in str(said[0].message)


def test_without_fallback_a_missing_cache_raises(tmp_path):
    with pytest.raises(FileNotFoundError, match="t10k-images-idx3-ubyte.gz"):
        mnist("test", download=False, root=tmp_path, fallback=False)


@pytest.mark.parametrize(
    "kwargs, expected",
    [
        ({"split": "validation"}, r"split must be one of \['test', 'train'\], got 'validation'"),
        ({"sha256": {}}, r"sha256 must have an entry for 'train-images-idx3-ubyte.gz'"),
        ({"mirrors": ()}, "mirrors must name at least one base URL"),
    ],
)
def test_bad_arguments_raise_value_error(tmp_path, kwargs, expected):
    with pytest.raises(ValueError, match=expected):
        mnist(**{"split": "train", "root": tmp_path, **kwargs})


# --- views ----------------------------------------------------------------------------------------


@pytest.fixture
def images() -> np.ndarray:
    images = synthetic(6, seed=3).images
    images[0, 0, 0], images[0, 0, 1] = 0, 255
    return images


def test_vectors_are_the_pixels_row_by_row_scaled_to_unit_interval(images):
    x = as_vectors(images)
    assert x.shape == (6, 784) and x.dtype == torch.float32
    assert x.min() == 0.0 and x.max() == 1.0
    np.testing.assert_allclose(x.numpy(), images.reshape(6, 784) / 255.0, rtol=1e-6)
    assert torch.equal(as_vectors(torch.from_numpy(images)), x)


def test_permuted_vectors_apply_one_seeded_permutation_to_every_image(images):
    perm = pixel_permutation(seed=5)
    assert torch.equal(torch.sort(perm).values, torch.arange(784))
    assert not torch.equal(perm, torch.arange(784))
    assert torch.equal(perm, pixel_permutation(seed=5))
    assert not torch.equal(perm, pixel_permutation(seed=6))
    shuffled = as_vectors(images, permute=True, seed=5)
    assert torch.equal(shuffled[:, torch.argsort(perm)], as_vectors(images))


def test_sequences_of_28_pixels_are_the_rows(images):
    x = as_sequences(images, k=28)
    assert x.shape == (6, 28, 28) and x.dtype == torch.float32
    np.testing.assert_allclose(x[:, 10, :].numpy(), images[:, 10, :] / 255.0, rtol=1e-6)


@pytest.mark.parametrize("k", VALID_PIXELS_PER_STEP)
def test_sequences_read_k_pixels_per_step_in_order(images, k):
    x = as_sequences(images, k=k, permute=True, seed=2)
    assert x.shape == (6, 784 // k, k)
    assert torch.equal(x.reshape(6, 784), as_vectors(images, permute=True, seed=2))


@pytest.mark.parametrize("k", [0, 3, 5, 27, 785])
def test_a_k_that_does_not_divide_784_raises_naming_the_valid_values(images, k):
    with pytest.raises(ValueError, match=rf"k must divide 784, one of \(1, 2, 4, 7, 8, 14.*got {k}"):
        as_sequences(images, k=k)


@pytest.mark.parametrize("bad", [np.zeros((2, 28, 28), dtype=np.float32), np.zeros((2, 784), dtype=np.uint8)])
def test_views_reject_anything_but_uint8_28_by_28_images(bad):
    with pytest.raises(ValueError, match=r"uint8 of shape \(N, 28, 28\), got"):
        as_vectors(bad)


# --- the adding problem ---------------------------------------------------------------------------


@pytest.mark.parametrize("length", [2, 7, 50])
def test_adding_problem_marks_one_value_in_each_half_and_targets_their_sum(length):
    inputs, targets = adding_problem(64, length, seed=1)
    assert inputs.shape == (64, length, 2) and targets.shape == (64,)
    assert inputs.dtype == torch.float32 and targets.dtype == torch.float32
    values, markers = inputs[..., 0], inputs[..., 1]
    assert values.min() >= 0.0 and values.max() < 1.0
    assert set(markers.unique().tolist()) <= {0.0, 1.0}
    half = length // 2
    assert torch.all(markers[:, :half].sum(dim=1) == 1)
    assert torch.all(markers[:, half:].sum(dim=1) == 1)
    assert torch.allclose(targets, (values * markers).sum(dim=1))


def test_adding_problem_is_seeded():
    a, b = adding_problem(8, 20, seed=3), adding_problem(8, 20, seed=3)
    c = adding_problem(8, 20, seed=4)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[0], c[0])


def test_adding_problem_baseline_of_always_answering_one_is_one_sixth():
    # The docstring's bar for a model: E[(u1 + u2 - 1)^2] = Var(u1) + Var(u2) = 1/6. Standard error
    # at n = 20,000 is 0.0014, so 0.01 is about seven of them.
    _, targets = adding_problem(20_000, 10, seed=0)
    assert abs(((targets - 1) ** 2).mean().item() - 1 / 6) < 0.01


@pytest.mark.parametrize("n, length", [(0, 10), (5, 1)])
def test_adding_problem_rejects_empty_batches_and_sequences_too_short_for_two_markers(n, length):
    with pytest.raises(ValueError, match="must be at least"):
        adding_problem(n, length)
