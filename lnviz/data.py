"""The data the notebooks train on: MNIST digits and the adding problem.

``mnist`` returns the standard 60,000 / 10,000 MNIST digits where the network allows, and otherwise
10,000 real MNIST digits shipped inside the package. ``as_vectors`` and ``as_sequences`` turn digits
into the inputs of a feed-forward or a recurrent model; ``adding_problem`` generates the long-range
task of Hochreiter and Schmidhuber (1997) for recurrent nets.

MNIST is by Yann LeCun, Corinna Cortes and Christopher J.C. Burges, distributed under CC BY-SA 3.0;
lnviz/_data/README.md says where the shipped digits come from.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import importlib.resources
import os
import tempfile
import time
import urllib.error
import urllib.request
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import BinaryIO, NamedTuple

import numpy as np
import torch

try:
    import fcntl
except ImportError:  # Windows, where a file another process holds open cannot be deleted anyway
    fcntl = None

#: Base URLs tried in order. Both serve byte-identical copies of LeCun's files, whose original
#: home (yann.lecun.com/exdb/mnist) no longer serves them reliably.
MNIST_MIRRORS: tuple[str, ...] = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)

#: The (images, labels) IDX files of each split.
MNIST_FILES: dict[str, tuple[str, str]] = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}

#: SHA-256 of the standard gzipped IDX files, as published by TensorFlow Datasets and Keras.
MNIST_SHA256: dict[str, str] = {
    "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}

#: Sizes in bytes of the standard gzipped IDX files. A download may grow to a tenth beyond its file's
#: size and no further: a mirror that serves something else is stopped before it fills the disk.
MNIST_BYTES: dict[str, int] = {
    "train-images-idx3-ubyte.gz": 9_912_422,
    "train-labels-idx1-ubyte.gz": 28_881,
    "t10k-images-idx3-ubyte.gz": 1_648_877,
    "t10k-labels-idx1-ubyte.gz": 4_542,
}

IMAGE_SIDE = 28
PIXELS = IMAGE_SIDE * IMAGE_SIDE

#: Pixels per step that tile a 784-pixel image exactly.
VALID_PIXELS_PER_STEP: tuple[int, ...] = tuple(k for k in range(1, PIXELS + 1) if PIXELS % k == 0)

# The shipped digits: one test digit in every _SHIPPED_TEST_EVERY, i.e. 8,000 train / 2,000 test.
_SHIPPED_FILE = "mnist10k.npz"
_SHIPPED_TEST_EVERY = 5
_SHIPPED_SPLIT_SEED = 0

# The errors a download can end with when the network, not the data, is at fault.
# URLError covers refused connections, failed DNS look-ups and HTTP errors such as 404.
_NETWORK_ERRORS = (urllib.error.URLError, http.client.HTTPException, ConnectionError, TimeoutError)

_CHUNK_BYTES = 1 << 16


class Digits(NamedTuple):
    """A split of MNIST: ``images, labels = mnist()``.

    images: (N, 28, 28) uint8, gray levels 0..255 (0 is background).
    labels: (N,) int64, the digit 0..9 of each image.
    """

    images: np.ndarray
    labels: np.ndarray


class MNISTFallbackWarning(UserWarning):
    """Said once when ``mnist`` gives the 10,000 shipped digits instead of the full data set."""


def mnist(
    split: str = "train",
    download: bool = True,
    root: str | os.PathLike[str] | None = None,
    *,
    mirrors: Sequence[str] = MNIST_MIRRORS,
    sha256: Mapping[str, str] = MNIST_SHA256,
    timeout: float = 10.0,
    deadline: float = 120.0,
    fallback: bool = True,
) -> Digits:
    """MNIST digits of one split: 60,000 for ``"train"``, 10,000 for ``"test"``.

    The gzipped IDX files are read from ``root/mnist/`` (``root`` defaults to ``$LNVIZ_DATA``, else
    ``~/.cache/lnviz``). Missing files are downloaded when ``download`` is true, from each of
    ``mirrors`` in turn, and kept only once their SHA-256 matches ``sha256``: a cache never holds a
    partial or unverified file. A mirror gets ``timeout`` seconds to answer or to send the next bytes,
    and ``deadline`` seconds for the whole file (at most ``timeout`` more while a read is pending); a
    body larger than a tenth beyond the file's size in ``MNIST_BYTES``, or one whose checksum is wrong,
    is abandoned: in each case the next mirror is tried. The temporary ``.part`` file of a download
    that was killed is deleted by the next call that downloads.

    When the files can be neither found nor downloaded (no network, ``download=False``, a cache
    root that cannot be written or is not a directory), and ``fallback`` is true, the result is the
    10,000 real digits shipped with lnviz, split deterministically into 8,000 train and 2,000 test
    (stratified by class, shuffled), and a ``MNISTFallbackWarning`` says so once per session. With
    ``fallback=False`` those cases raise.

    When no mirror delivers a file and one of them delivered something that is not MNIST (wrong
    checksum, too large), ValueError is raised whatever ``fallback`` says.

    Returns: Digits(images (N, 28, 28) uint8, labels (N,) int64).
    """
    if split not in MNIST_FILES:
        raise ValueError(f"split must be one of {sorted(MNIST_FILES)}, got {split!r}")
    directory = _cache_dir(root)
    names = MNIST_FILES[split]
    if download and not mirrors:
        raise ValueError("mirrors must name at least one base URL when download=True, got none")
    for name in names:
        if name not in sha256:
            raise ValueError(f"sha256 must have an entry for {name!r}, got keys {sorted(sha256)}")

    missing = [name for name in names if not (directory / name).is_file()]
    if missing and not download:
        if not fallback:
            raise FileNotFoundError(f"MNIST {split} files {missing} are not in {directory} and download=False")
        return _shipped(split, f"MNIST is not in {directory} and download=False")
    if missing:
        if not (timeout > 0 and deadline > 0):
            raise ValueError(f"timeout and deadline must be positive seconds, got {timeout!r} and {deadline!r}")
        _remove_abandoned_parts(directory)
        for name in missing:
            try:
                part, out = _open_part(directory / name)
            except OSError as err:
                if not fallback:
                    raise
                reason = f"the MNIST cache {directory} cannot be written ({err}); set LNVIZ_DATA to choose another"
                return _shipped(split, reason)
            try:
                _fetch(name, part, out, directory / name, mirrors, sha256[name], timeout, deadline)
            except ConnectionError as err:
                if not fallback:
                    raise
                # Why the last mirror failed is enough for one line; the full story is in err.
                reason = f"MNIST download failed ({err.__cause__}); pass download=False to skip it"
                return _shipped(split, reason)
            finally:
                out.close()
                part.unlink(missing_ok=True)

    for name in names:
        actual = _sha256_of(directory / name)
        if actual != sha256[name]:
            raise ValueError(
                f"cached {directory / name}: expected sha256 {sha256[name]}, got {actual}; "
                "delete it to download it again"
            )
    images = parse_idx(gzip.decompress((directory / names[0]).read_bytes()), names[0], ndim=3)
    labels = parse_idx(gzip.decompress((directory / names[1]).read_bytes()), names[1], ndim=1)
    return _checked_digits(images, labels, names)


def parse_idx(data: bytes, name: str = "IDX data", ndim: int | None = None) -> np.ndarray:
    """Parse an uncompressed IDX file of unsigned bytes, the format MNIST is distributed in.

    Layout: two zero bytes, the type code 0x08 (unsigned byte), the number of dimensions d, then d
    sizes as big-endian uint32, then the values in C order. So the magic number of MNIST's image
    files is 0x00000803 and of its label files 0x00000801. ``ndim``, if given, is the d to insist on.
    Anything else, or a size that disagrees with the header, raises ValueError naming ``name``.

    Returns: a writable uint8 array with the header's shape.
    """
    magic = int.from_bytes(data[:4], "big") if len(data) >= 4 else None
    if magic is None or data[:3] != b"\x00\x00\x08" or (ndim is not None and data[3] != ndim):
        wanted = f"0x{0x800 + ndim:08x}" if ndim is not None else "0x000008XX"
        got = f"0x{magic:08x}" if magic is not None else f"only {len(data)} bytes"
        raise ValueError(f"{name}: expected IDX magic number {wanted} (unsigned bytes), got {got}")
    dims = data[3]
    header = 4 + 4 * dims
    if dims == 0 or len(data) < header:
        raise ValueError(
            f"{name}: expected a header of {header} bytes and at least one dimension, got {len(data)} bytes"
        )
    shape = tuple(int(size) for size in np.frombuffer(data, dtype=">u4", count=dims, offset=4))
    expected = header + int(np.prod(shape))
    if len(data) != expected:
        raise ValueError(f"{name}: expected {expected} bytes for the header's shape {shape}, got {len(data)}")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape).copy()


def pixel_permutation(seed: int = 0) -> torch.Tensor:
    """One fixed shuffle of the 784 pixel positions: (784,) int64, the same for every image.

    A model given ``x[:, perm]`` cannot use which pixels are neighbours: the "permutation-invariant"
    MNIST task.
    """
    return torch.from_numpy(np.random.default_rng(seed).permutation(PIXELS))


def as_vectors(images: np.ndarray | torch.Tensor, permute: bool = False, seed: int = 0) -> torch.Tensor:
    """Images as vectors for a feed-forward model.

    images: (N, 28, 28) uint8. With ``permute`` the pixels are reordered by
    ``pixel_permutation(seed)``.
    Returns: (N, 784) float32 in [0, 1], pixels in row-major order unless permuted.
    """
    x = _unit_interval(images).reshape(-1, PIXELS)
    return x[:, pixel_permutation(seed)] if permute else x


def as_sequences(images: np.ndarray | torch.Tensor, k: int = 28, permute: bool = False, seed: int = 0) -> torch.Tensor:
    """Images as sequences for a recurrent model, read k pixels per time step (batch first).

    images: (N, 28, 28) uint8. k = 28 reads one row per step (28 steps); k = 1 one pixel per step
    (784 steps, "sequential MNIST"). k must divide 784. With ``permute`` the pixels are reordered by
    ``pixel_permutation(seed)`` before being cut into steps ("permuted sequential MNIST").
    Returns: (N, 784 // k, k) float32 in [0, 1].
    """
    if k not in VALID_PIXELS_PER_STEP:
        raise ValueError(f"k must divide {PIXELS}, one of {VALID_PIXELS_PER_STEP}, got {k!r}")
    return as_vectors(images, permute, seed).reshape(-1, PIXELS // k, k)


def adding_problem(n: int, length: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """The adding problem (Hochreiter and Schmidhuber, 1997): add two numbers marked far apart.

    Each of the n sequences has ``length`` steps of two channels: channel 0 holds values uniform in
    [0, 1), channel 1 a marker that is 1 at exactly two steps, one in the first half
    ``[0, length // 2)`` and one in the second ``[length // 2, length)``, and 0 elsewhere. The target
    is the sum of the two marked values. Always answering 1 gives a mean squared error of 1/6, the
    bar a model must clear to show it has bridged the gap.

    Returns: inputs (n, length, 2) float32, targets (n,) float32.
    """
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    if length < 2:
        raise ValueError(f"length must be at least 2 (one marker in each half), got {length}")
    rng = np.random.default_rng(seed)
    values = rng.random((n, length), dtype=np.float32)
    rows = np.arange(n)
    first = rng.integers(0, length // 2, size=n)
    second = rng.integers(length // 2, length, size=n)
    markers = np.zeros((n, length), dtype=np.float32)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    targets = values[rows, first] + values[rows, second]
    return torch.from_numpy(np.stack([values, markers], axis=-1)), torch.from_numpy(targets)


def _unit_interval(images: np.ndarray | torch.Tensor) -> torch.Tensor:
    """images: (N, 28, 28) uint8 -> (N, 28, 28) float32 in [0, 1]."""
    x = torch.as_tensor(images)
    if x.dtype != torch.uint8 or x.ndim != 3 or tuple(x.shape[1:]) != (IMAGE_SIDE, IMAGE_SIDE):
        raise ValueError(f"images must be uint8 of shape (N, 28, 28), got {x.dtype} of shape {tuple(x.shape)}")
    return x.to(torch.float32) / 255.0


def _cache_dir(root: str | os.PathLike[str] | None) -> Path:
    if root is None:
        root = os.environ.get("LNVIZ_DATA") or Path.home() / ".cache" / "lnviz"
    return Path(root).expanduser() / "mnist"


def _remove_abandoned_parts(directory: Path) -> None:
    """Delete the ``.part`` files of downloads whose process has died (killed, or the machine stopped).

    A live download holds a lock on its ``.part`` file (see ``_open_part``), so a second notebook
    downloading at the same time keeps its file. Where there is no fcntl (Windows), a file open in
    another process cannot be deleted, which protects it just as well.
    """
    for part in directory.glob(".*.part") if directory.is_dir() else ():
        try:
            if fcntl is None:
                part.unlink()
                continue
            with part.open("rb") as f:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                part.unlink()
        except OSError:  # locked by a live download, already gone, or a read-only cache
            continue


def _open_part(dest: Path) -> tuple[Path, BinaryIO]:
    """A new temporary file beside ``dest``, locked for as long as it is open.

    Raises OSError when the cache cannot be written: a read-only root, or a file where a directory
    should be.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, partial = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    out = os.fdopen(fd, "w+b")
    if fcntl is not None:
        fcntl.flock(out, fcntl.LOCK_EX)
    return Path(partial), out


def _fetch(
    name: str,
    part: Path,
    out: BinaryIO,
    dest: Path,
    mirrors: Sequence[str],
    sha256: str,
    timeout: float,
    deadline: float,
) -> None:
    """Download ``name`` into ``out`` (the open file ``part``) from the first mirror that delivers it
    whole and verified, then rename ``part`` to ``dest``.

    os.replace within one directory is atomic, so a reader (or a second notebook) sees either no
    file or the whole verified one. When every mirror fails: ValueError if one of them delivered
    something that is not the file, else ConnectionError.
    """
    failures: list[tuple[str, Exception]] = []
    for base in mirrors:
        url = base.rstrip("/") + "/" + name
        out.seek(0)
        out.truncate()
        try:
            _download(url, out, sha256, MNIST_BYTES[name] * 11 // 10, timeout, deadline)
        except (*_NETWORK_ERRORS, ValueError) as err:
            failures.append((url, err))
            continue
        out.flush()
        if fcntl is None:
            out.close()  # Windows renames only closed files
        os.replace(part, dest)
        return
    report = "; ".join(f"{url}: {err}" for url, err in failures)
    if any(isinstance(err, ValueError) for _, err in failures):
        raise ValueError(f"could not download {name}: {report}")
    raise ConnectionError(f"could not download {name}: {report}") from failures[-1][1]


def _download(url: str, out: BinaryIO, sha256: str, max_bytes: int, timeout: float, deadline: float) -> None:
    """Write the body at ``url`` to ``out``, checking its size, duration and SHA-256 as it comes.

    Network failures (including the deadline) raise one of _NETWORK_ERRORS, a body that is not the
    file (too large, wrong checksum) ValueError.
    """
    give_up = time.monotonic() + deadline
    digest = hashlib.sha256()
    received = 0
    with urllib.request.urlopen(url, timeout=min(timeout, deadline)) as response:
        announced = response.headers.get("Content-Length")
        if announced is not None and int(announced) > max_bytes:
            raise ValueError(f"announced {announced} bytes, more than the {max_bytes} bytes expected at most")
        # read1 returns after one socket read: a server that trickles bytes cannot hold one read open
        # past the deadline, as read(n) would until n bytes arrive.
        while chunk := response.read1(_CHUNK_BYTES):
            received += len(chunk)
            if received > max_bytes:
                raise ValueError(f"more than the {max_bytes} bytes expected at most; stopped there")
            if time.monotonic() > give_up:
                raise TimeoutError(f"not complete within the deadline of {deadline:g} s ({received} bytes received)")
            out.write(chunk)
            digest.update(chunk)
    # http.client returns a short body without complaint when the server closes early.
    if announced is not None and received != int(announced):
        raise ConnectionError(f"transfer ended after {received} of {announced} bytes")
    actual = digest.hexdigest()
    if actual != sha256:
        raise ValueError(f"expected sha256 {sha256}, got {actual}; it was not kept")


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def _checked_digits(images: np.ndarray, labels: np.ndarray, names: tuple[str, str]) -> Digits:
    if images.shape[1:] != (IMAGE_SIDE, IMAGE_SIDE):
        raise ValueError(f"{names[0]}: expected 28 x 28 images, got {images.shape[1:]}")
    if len(labels) != len(images):
        raise ValueError(f"{names[1]}: expected {len(images)} labels, one per image of {names[0]}, got {len(labels)}")
    if len(labels) and labels.max() > 9:
        raise ValueError(f"{names[1]}: expected labels 0..9, got {int(labels.max())}")
    return Digits(images, labels.astype(np.int64))


def _shipped(split: str, reason: str) -> Digits:
    """The shipped 10,000 digits, split 8,000 / 2,000 the same way on every machine."""
    # A constant message at a constant line: Python's default warning filter then says it once per
    # session, not once per call or per notebook cell.
    warnings.warn(
        f"{reason}; using the 10,000 MNIST digits shipped with lnviz (8,000 train, 2,000 test)",
        MNISTFallbackWarning,
        stacklevel=1,
    )
    with importlib.resources.files("lnviz").joinpath("_data", _SHIPPED_FILE).open("rb") as f:
        shipped = np.load(f)
        images, labels = shipped["images"], shipped["labels"]
    rng = np.random.default_rng(_SHIPPED_SPLIT_SEED)
    # Group by class in random order within each class; taking every fifth then stratifies the split.
    order = rng.permutation(len(labels))
    order = order[np.argsort(labels[order], kind="stable")]
    is_test = np.arange(len(order)) % _SHIPPED_TEST_EVERY == 0
    chosen = order[is_test] if split == "test" else order[~is_test]
    # The file is sorted by class: shuffle so that a first mini-batch is not all zeros.
    chosen = rng.permutation(chosen)
    return Digits(images[chosen], labels[chosen].astype(np.int64))
