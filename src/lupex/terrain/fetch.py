r"""Download native LOLA products into a local cache, verified, and cut a site box out of them.

The products are listed in ``data/lola_products.json`` (package data), each
with its URL, size in bytes and sha256 where known (``null`` where not), the
content type the server should send, and its citation:

* PGDA product 78, 5 m site DEMs and their total height error maps
  (Site01, Site04): Barker et al. 2021, Planetary and Space Science 203,
  105119, doi:10.1016/j.pss.2020.105119.
* PGDA product 90, track-adjusted LDEM_80S_20/40/80MPP_ADJ GeoTIFFs:
  Barker et al. 2023, The Planetary Science Journal 4, 183,
  doi:10.3847/PSJ/acf3e1.
* PDS LOLA GDR polar LDEM_75S_120M and LDEM_80S_20/40/80M (int16 IMG with a
  detached PDS3 label): Smith et al. 2010, Space Science Reviews 150, 209;
  data set LRO-L-LOLA-4-GDR-V1.0, doi:10.17189/1520642.

Downloads go through :func:`pooch.retrieve` with :class:`ResumableDownloader`
(a :class:`pooch.HTTPDownloader` that continues a broken transfer with an HTTP
``Range`` request and draws pooch's tqdm progress bar). The bytes first land in
``<cache>/.partial/<name>.part``; when the transfer ends the file is checked
(size when the manifest knows it, the server's content type, the magic bytes:
a TIFF header ``II*\0``/``MM\0*`` for GeoTIFFs, ``PDS_VERSION_ID`` for PDS3
labels, the size its label implies for a PDS image) and only then handed to
pooch, which compares the sha256 where known and renames the file into the
cache. So the final path holds a verified file or nothing: an HTML page sent
with status 200 for a missing file, a truncated transfer, a wrong checksum or
an HTTP error raise :class:`DownloadError` and leave nothing there. A broken
transfer keeps its ``.part`` file, and running the command again asks the
server for the rest (``Range: bytes=N-``); a server that ignores ranges sends
the whole file again and the download restarts from zero. A file whose check
fails is deleted, ``.part`` included.

The cache is ``$LUPEX_DATA_DIR`` or ``pooch.os_cache("lupex")/lola``; a
mirror that holds the files flat under one URL (``$LUPEX_DATA_URL``, or the
``base_url`` argument) replaces every product's host.

:func:`crop_to_site` (:mod:`lupex.terrain.crop`, importable from here) cuts a site box out of a
downloaded product.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import pooch
import requests

from lupex.errors import InputError, LupexError
from lupex.terrain.crop import crop_to_site, parse_crop  # noqa: F401  (moved there; still importable from here)
from lupex.terrain.io import parse_pds3_label

__all__ = [
    "DownloadError",
    "Product",
    "ProductFile",
    "ResumableDownloader",
    "crop_to_site",
    "data_dir",
    "fetch_product",
    "load_manifest",
    "parse_crop",
]

log = logging.getLogger(__name__)

ENV_DATA_DIR = "LUPEX_DATA_DIR"
ENV_DATA_URL = "LUPEX_DATA_URL"
PARTIAL_DIR = ".partial"
USER_AGENT = "lupex-data-fetch/0.1 (python-requests via pooch)"  # PGDA resets connections that send none
TIMEOUT_S = (30.0, 120.0)  # connect, read
CHUNK_BYTES = 1 << 16  # a broken transfer loses at most the chunk being read
_TIFF_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")  # classic TIFF and BigTIFF, both byte orders
_FORMATS = ("geotiff", "pds3_label", "pds3_image")


class DownloadError(LupexError):
    """A product could not be downloaded, or what came back is not the product."""


@dataclass(frozen=True)
class ProductFile:
    """One file of a product: where it is, how big (bytes), its sha256 and what it must look like."""

    name: str
    url: str
    format: str
    size_bytes: int | None = None
    sha256: str | None = None
    content_type: str | None = None
    label: str | None = None
    approx_size: str | None = None


@dataclass(frozen=True)
class Product:
    """A LOLA product of the manifest: its files (a PDS product: label first), native pixel (m), citation."""

    name: str
    title: str
    citation: str
    citation_text: str
    pixel_m: float
    coverage: str
    files: tuple[ProductFile, ...]

    @property
    def dem_file(self) -> ProductFile:
        """The file :func:`lupex.terrain.io.read_dem` opens: the GeoTIFF or the PDS label."""
        for f in self.files:
            if f.format in ("geotiff", "pds3_label"):
                return f
        return self.files[0]

    def size_text(self) -> str:
        """Total size for people ("40.98 MB", "~716 MB", "unknown")."""
        known = [f.size_bytes for f in self.files if f.size_bytes is not None]
        approx = [f.approx_size for f in self.files if f.size_bytes is None and f.approx_size]
        unknown = [f for f in self.files if f.size_bytes is None and not f.approx_size]
        parts = []
        if known:
            parts.append(_human(sum(known)))
        parts += [f"~{a}" for a in approx]
        if unknown and not parts:
            return "unknown"
        if unknown:
            parts.append(f"+ {len(unknown)} small file{'s' if len(unknown) > 1 else ''}")
        return " ".join(parts)


def _human(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.2f} {unit}"
        n /= 1000.0
    return f"{n:.2f} GB"  # pragma: no cover


# --------------------------------------------------------------------------- manifest


def load_manifest(path: str | os.PathLike | None = None) -> dict[str, Product]:
    """The products of the manifest at ``path`` (default: the one shipped with lupex), by name."""
    try:
        if path is None:
            text = resources.files("lupex.terrain").joinpath("data/lola_products.json").read_text("utf-8")
            where = "the built-in LOLA manifest"
        else:
            text = Path(path).read_text("utf-8")
            where = f"the manifest {path}"
    except FileNotFoundError as exc:
        raise InputError(f"manifest {path} does not exist; check the path given to --manifest") from exc
    try:
        doc = json.loads(text)
        cites = doc.get("citations", {})
        out = {}
        for name, p in doc["products"].items():
            files = tuple(_product_file(f, name) for f in p["files"])
            out[name] = Product(
                name=name, title=p.get("title", name), citation=p.get("citation", ""),
                citation_text=cites.get(p.get("citation", ""), p.get("citation", "")),
                pixel_m=float(p["pixel_m"]), coverage=p.get("coverage", ""), files=files,
            )
    except (ValueError, KeyError, TypeError) as exc:
        raise InputError(f"{where} is malformed ({type(exc).__name__}: {exc}); fix the JSON") from exc
    return out


def _product_file(f: dict, product: str) -> ProductFile:
    fmt = f["format"]
    if fmt not in _FORMATS:
        raise ValueError(f"product {product}: file format {fmt!r} is not one of {_FORMATS}")
    sha = f.get("sha256")
    if sha is not None and not re.fullmatch(r"[0-9a-fA-F]{64}", sha):
        raise ValueError(f"product {product}: sha256 of {f['name']} is not 64 hex digits")
    size = f.get("size_bytes")
    return ProductFile(
        name=f["name"], url=f["url"], format=fmt, size_bytes=None if size is None else int(size),
        sha256=None if sha is None else sha.lower(), content_type=f.get("content_type"),
        label=f.get("label"), approx_size=f.get("approx_size"),
    )


def get_product(products: dict[str, Product], name: str) -> Product:
    """The product called ``name`` (case-insensitive), or an :class:`InputError` listing the known ones."""
    key = name.strip().lower()
    for k, p in products.items():
        if k.lower() == key:
            return p
    raise InputError(f"unknown product {name!r}; choose one of: {', '.join(products)} (see `lupex data list`)")


def data_dir(override: str | os.PathLike | None = None) -> Path:
    """The cache directory: ``override``, else ``$LUPEX_DATA_DIR``, else ``pooch.os_cache("lupex")/lola``."""
    if override is not None and str(override) != "":
        return Path(override).expanduser()
    env = os.environ.get(ENV_DATA_DIR)
    if env:
        return Path(env).expanduser()
    return Path(pooch.os_cache("lupex")) / "lola"


def file_url(f: ProductFile, base_url: str | None = None) -> str:
    """Where to fetch ``f``: ``base_url/<name>`` (argument, else ``$LUPEX_DATA_URL``) or the manifest's URL."""
    base = base_url if base_url else os.environ.get(ENV_DATA_URL)
    if base:
        return base.rstrip("/") + "/" + f.name
    return f.url


def cached_state(product: Product, directory: Path) -> str:
    """``"yes"`` when every file is in the cache, ``"partial"`` when some are (or a transfer broke), else ``"no"``."""
    have = [(directory / f.name).is_file() for f in product.files]
    if all(have):
        return "yes"
    parts = any((directory / PARTIAL_DIR / (f.name + ".part")).is_file() for f in product.files)
    return "partial" if any(have) or parts else "no"


# --------------------------------------------------------------------------- download


class ResumableDownloader(pooch.HTTPDownloader):
    """A pooch downloader that resumes from ``part_path`` with an HTTP Range request and checks the result.

    ``check(path)`` is called on the complete transfer before pooch sees it;
    it raises :class:`DownloadError` when the bytes are not the product, and
    the partial file is then removed so the next try starts clean.
    """

    def __init__(self, part_path: Path, *, expected: ProductFile, check, progressbar: bool = False):
        super().__init__(progressbar=progressbar, chunk_size=CHUNK_BYTES, timeout=TIMEOUT_S,
                         headers={"User-Agent": USER_AGENT})
        self.part_path = Path(part_path)
        self.expected = expected
        self.check = check

    def __call__(self, url, output_file, pooch_, check_only=False):  # noqa: D102 (pooch's interface)
        if check_only:
            return super().__call__(url, output_file, pooch_, check_only=True)
        part = self.part_path
        part.parent.mkdir(parents=True, exist_ok=True)
        have = part.stat().st_size if part.exists() else 0
        # identity: byte offsets must count the file's own bytes, not a compressed stream's
        headers = {**self.kwargs.get("headers", {}), "Accept-Encoding": "identity"}
        if have:
            headers["Range"] = f"bytes={have}-"
        with requests.get(url, stream=True, timeout=TIMEOUT_S, headers=headers) as r:
            if r.status_code == 416 and have:  # nothing after byte `have`: the part is whole, or too long
                if _range_total(r.headers.get("Content-Range")) == have:
                    return self._finish(part, output_file)
                part.unlink()
                return self(url, output_file, pooch_)
            r.raise_for_status()
            _check_content_type(r.headers.get("Content-Type"), self.expected, url)
            resumed = have > 0 and r.status_code == 206 and _range_start(r.headers.get("Content-Range")) == have
            if r.status_code == 206 and not resumed:  # a range we did not ask for: its bytes cannot be placed
                with contextlib.suppress(FileNotFoundError):
                    part.unlink()
                raise DownloadError(f"{url} answered with a part of the file lupex did not ask for "
                                    f"({r.headers.get('Content-Range')}); run the command again to start over")
            if not resumed:
                have = 0
            length = r.headers.get("Content-Length")
            total = have + int(length) if length and length.isdigit() else self.expected.size_bytes
            if resumed:
                log.info("resuming %s at byte %d", url, have)
            with open(part, "ab" if resumed else "wb") as out, _progress(self.progressbar, total, have) as bar:
                for chunk in r.iter_content(chunk_size=self.chunk_size):
                    out.write(chunk)
                    bar.update(len(chunk))
        return self._finish(part, output_file)

    def _finish(self, part: Path, output_file) -> None:
        """Check the whole transfer; hand it to pooch (which hashes and renames it) or delete it."""
        try:
            self.check(part)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                part.unlink()
            raise
        os.replace(part, output_file)


def _range_start(content_range: str | None) -> int | None:
    m = re.match(r"\s*bytes\s+(\d+)-", content_range or "")
    return int(m.group(1)) if m else None


def _range_total(content_range: str | None) -> int | None:
    m = re.match(r"\s*bytes\s+[^/]*/(\d+)", content_range or "")
    return int(m.group(1)) if m else None


@contextlib.contextmanager
def _progress(enabled: bool, total, initial: int):
    if not enabled:
        class _Null:
            def update(self, n):
                pass
        yield _Null()
        return
    from tqdm.auto import tqdm  # noqa: PLC0415  optional (pooch's progress bar); only for a bar

    bar = tqdm(total=total, initial=initial, unit="B", unit_scale=True, leave=True, file=sys.stderr,
               ascii=sys.platform == "win32")
    try:
        yield bar
    finally:
        bar.close()


def _check_content_type(got: str | None, expected: ProductFile, url: str) -> None:
    """Refuse an HTML answer (servers send "not found" pages with status 200) unless HTML was expected."""
    got_main = (got or "").split(";")[0].strip().lower()
    want = (expected.content_type or "").lower()
    if got_main in ("text/html", "application/xhtml+xml") and want != got_main:
        raise DownloadError(
            f"{url} answered with an HTML page instead of {expected.name} (the file is probably missing there); "
            "check the URL or the --base-url mirror"
        )


def verify_file(path: Path, f: ProductFile, directory: Path) -> None:
    """Raise :class:`DownloadError` unless ``path`` has the size and magic bytes the manifest expects of ``f``."""
    size = path.stat().st_size
    if f.size_bytes is not None and size != f.size_bytes:
        raise DownloadError(
            f"{f.name}: got {size} bytes, the manifest expects {f.size_bytes}; the transfer was cut or the server "
            "sent something else. Run the command again"
        )
    with open(path, "rb") as fh:
        head = fh.read(512)
    if head.lstrip()[:15].lower().startswith((b"<!doctype html", b"<html", b"<?xml", b"<head")):
        raise DownloadError(f"{f.name}: the server sent an HTML/XML page, not the product; check the URL")
    if f.format == "geotiff" and head[:4] not in _TIFF_MAGIC:
        raise DownloadError(f"{f.name} is not a TIFF (it starts with {head[:8]!r}); check the URL")
    if f.format == "pds3_label" and not head.lstrip().startswith((b"PDS_VERSION_ID", b"CCSD")):
        raise DownloadError(f"{f.name} is not a PDS3 label (no PDS_VERSION_ID at its start); check the URL")
    if f.format == "pds3_image" and f.label:
        need = _pds3_image_bytes(directory / f.label)
        if need is not None and size < need:
            raise DownloadError(
                f"{f.name} is {size} bytes but its label {f.label} needs {need}; the transfer was cut. "
                "Run the command again"
            )


def _pds3_image_bytes(label_path: Path) -> int | None:
    """Bytes of image data a detached PDS3 label describes (lines x row bytes), or None if it cannot say."""
    try:
        lab = parse_pds3_label(label_path.read_text("latin-1"))
        img = lab["IMAGE"]

        def num(key, default=None):
            v = img.get(key, default)
            return int(float(re.match(r"\s*([-+0-9.eE]+)", str(v)).group(1)))

        row = num("LINE_PREFIX_BYTES", 0) + num("LINE_SAMPLES") * num("SAMPLE_BITS") // 8 + num("LINE_SUFFIX_BYTES", 0)
        return num("LINES") * row * num("BANDS", 1)
    except (OSError, KeyError, AttributeError, ValueError, TypeError):
        return None


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(CHUNK_BYTES), b""):
            h.update(chunk)
    return h.hexdigest()


def fetch_file(f: ProductFile, directory: Path, *, base_url: str | None = None, progress: bool = True) -> Path:
    """Download one file into ``directory`` (or find it there) and return its path; see the module docstring.

    Parameters
    ----------
    f : ProductFile
        The file: name, URL, size (bytes) and sha256 where known.
    directory : Path
        The cache directory; created when missing.
    base_url : str, optional
        Fetch ``base_url/<name>`` instead of the manifest's URL (default: ``$LUPEX_DATA_URL`` when set).
    progress : bool
        Show a progress bar on stderr.
    """
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DownloadError(f"cannot create the cache directory {directory} ({exc.strerror}); choose another "
                            "with --data-dir or $LUPEX_DATA_DIR") from exc
    final = directory / f.name
    url = file_url(f, base_url)
    part = directory / PARTIAL_DIR / (f.name + ".part")
    if final.exists():
        if f.sha256 is None:
            return final  # written by us after its checks
        if _sha256(final) == f.sha256:
            return final
        log.warning("%s in the cache does not match the manifest's sha256; downloading it again", final)
        final.unlink()  # a failed download must not leave the stale file looking valid
    downloader = ResumableDownloader(part, expected=f, check=lambda p: verify_file(p, f, directory),
                                     progressbar=progress)
    plog = pooch.get_logger()
    level = plog.level
    if not progress:
        plog.setLevel(logging.WARNING)  # no "Downloading data from ..." line when quiet
    try:
        path = pooch.retrieve(url, known_hash=None if f.sha256 is None else f"sha256:{f.sha256}",
                              fname=f.name, path=directory, downloader=downloader, progressbar=False)
    except (requests.exceptions.RequestException, ValueError, OSError) as exc:
        err = _explain(exc, f, url, part, directory)
        if err is None:
            raise
        raise err from exc
    finally:
        plog.setLevel(level)
    return Path(path)


def _explain(exc: Exception, f: ProductFile, url: str, part: Path, directory: Path) -> DownloadError | None:
    """The one-line :class:`DownloadError` a user sees for a failed download (None: not ours to explain)."""
    if isinstance(exc, requests.exceptions.HTTPError):
        code = exc.response.status_code if exc.response is not None else "?"
        return DownloadError(f"{url} answered HTTP {code}; the file is not there (check the URL, the --base-url "
                             "mirror, or try later)")
    if isinstance(exc, (requests.exceptions.ChunkedEncodingError, requests.exceptions.ConnectionError,
                        requests.exceptions.Timeout)):
        got = part.stat().st_size if part.exists() else 0
        if got == 0 and not isinstance(exc, requests.exceptions.ChunkedEncodingError):
            host = re.sub(r"^(\w+://[^/]+).*", r"\1", url)
            return DownloadError(f"cannot reach {host} for {f.name} ({type(exc).__name__}); check the internet "
                                 "connection, or the --base-url / $LUPEX_DATA_URL mirror")
        return DownloadError(f"the transfer of {f.name} from {url} broke after {got} bytes ({type(exc).__name__}); "
                             "run the same command again to continue it")
    if isinstance(exc, requests.exceptions.RequestException):
        return DownloadError(f"downloading {f.name} from {url} failed ({type(exc).__name__}: "
                             f"{' '.join(str(exc).split())[:200]})")
    if isinstance(exc, ValueError):  # pooch: the sha256 does not match
        if "hash" not in str(exc).lower():
            return None
        return DownloadError(f"{f.name} from {url} does not match the manifest's sha256 (corrupt transfer or a "
                             "changed file); nothing was kept. Try again, or check the mirror")
    if isinstance(exc, OSError):  # the cache: disk full, no permission
        return DownloadError(f"cannot write {f.name} into {directory} ({exc.strerror or exc}); free some space or "
                             "choose another --data-dir")
    return None


def fetch_product(
    product: Product, *, directory: Path | None = None, base_url: str | None = None, progress: bool = True
) -> Path:
    """Download every file of ``product`` into the cache; the path of its DEM file (GeoTIFF or PDS3 label).

    Parameters
    ----------
    product : Product
        The product, from the package's list.
    directory : Path, optional
        The cache directory (default: :func:`data_dir`: ``$LUPEX_DATA_DIR``, else pooch's cache).
    base_url : str, optional
        Fetch ``base_url/<name>`` instead of the manifest's URLs (default: ``$LUPEX_DATA_URL`` when set).
    progress : bool
        Show a progress bar on stderr.
    """
    directory = data_dir(directory)
    paths = {f.name: fetch_file(f, directory, base_url=base_url, progress=progress) for f in product.files}
    return paths[product.dem_file.name]
