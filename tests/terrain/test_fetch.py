"""`lupex data fetch` against a local HTTP server on 127.0.0.1 only: good files, HTML-200 traps, truncated
transfers, wrong checksums, 404s, a resumed transfer, and a crop read back with read_dem.

Every product URL in the test manifests points at ``example.invalid`` (a reserved name that never resolves) and
every fetch passes ``--base-url http://127.0.0.1:<port>``, so a test that ignored the override would fail
rather than reach the internet; the subprocesses also run with proxies switched off.
"""

import hashlib
import json
import os
import socket
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
import rasterio
from pyproj import CRS, Transformer
from rasterio.transform import from_origin

from lupex.terrain import fetch
from lupex.terrain.geo import pixel_size_m
from lupex.terrain.io import canonical_crs, read_dem

POLAR = "+proj=stere +lat_0=-90 +lon_0=0 +k=1 +x_0=0 +y_0=0 +R=1737400 +units=m +no_defs"
TIF_ORIGIN = (-19000.0, -4000.0)  # top-left corner, m (the corner of PGDA Site01)
TIF_CENTRE = (-16000.0, -7000.0)
TIF_PIXEL_M, TIF_N = 20.0, 300  # 6 km, 360 kB: several of the downloader's 64 KiB chunks
PDS_PIXEL_M, PDS_N = 100.0, 40


def plane_tif(x, y):
    """The tiny GeoTIFF's heights: a plane, so bilinear resampling must reproduce it exactly (m)."""
    return 1000.0 + 0.01 * x - 0.02 * y


def plane_pds(x, y):
    """The tiny PDS product's heights (m), on whole 0.5 m DNs at the cell centres."""
    return 200.0 + 0.05 * x + 0.1 * y


def area_mean_1d(edges_out, edges_src):
    """Weights (n_out, n_src): the share of each output interval covered by each source interval."""
    lo = np.maximum(edges_out[:-1, None], edges_src[None, :-1])
    hi = np.minimum(edges_out[1:, None], edges_src[None, 1:])
    w = np.clip(hi - lo, 0.0, None)
    return w / np.diff(edges_out)[:, None]


def _make_tif(path):
    x = TIF_ORIGIN[0] + (np.arange(TIF_N) + 0.5) * TIF_PIXEL_M
    y = TIF_ORIGIN[1] - (np.arange(TIF_N) + 0.5) * TIF_PIXEL_M
    z = plane_tif(*np.meshgrid(x, y)).astype(np.float32)
    with rasterio.open(path, "w", driver="GTiff", width=TIF_N, height=TIF_N, count=1, dtype="float32",
                       crs=rasterio.crs.CRS.from_proj4(POLAR), nodata=np.nan,
                       transform=from_origin(*TIF_ORIGIN, TIF_PIXEL_M, TIF_PIXEL_M)) as dst:
        dst.write(z, 1)
    return path.read_bytes()


def _make_pds():
    n, p = PDS_N, PDS_PIXEL_M
    off = n / 2 - 0.5  # LOLA's projection offsets: the pole at the grid centre
    s = np.arange(1, n + 1)
    x = (s - off - 1) * p
    y = (1 - s + off) * p
    z = plane_pds(*np.meshgrid(x, y))
    dn = np.round(z / 0.5).astype("<i2")
    label = f"""PDS_VERSION_ID = "PDS3"
RECORD_TYPE = FIXED_LENGTH
RECORD_BYTES = {2 * n}
FILE_RECORDS = {n}
^IMAGE = "LDEM_TEST.IMG"
OBJECT = IMAGE
  LINES = {n}
  LINE_SAMPLES = {n}
  SAMPLE_TYPE = LSB_INTEGER
  SAMPLE_BITS = 16
  UNIT = METER
  SCALING_FACTOR = 0.5
  OFFSET = 1737400.
  MISSING_CONSTANT = -32768
END_OBJECT = IMAGE
OBJECT = IMAGE_MAP_PROJECTION
  MAP_PROJECTION_TYPE = "POLAR STEREOGRAPHIC"
  A_AXIS_RADIUS = 1737.4 <KM>
  CENTER_LATITUDE = -90.0 <DEG>
  CENTER_LONGITUDE = 0.0 <DEG>
  MAP_SCALE = {p:g} <METERS/PIXEL>
  LINE_PROJECTION_OFFSET = {off} <PIXEL>
  SAMPLE_PROJECTION_OFFSET = {off} <PIXEL>
END_OBJECT = IMAGE_MAP_PROJECTION
END
"""
    return label.encode(), dn.tobytes()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):  # noqa: N802 (http.server's name)
        srv = self.server
        name = self.path.lstrip("/")
        rng = self.headers.get("Range")
        with srv.lock:
            srv.requests.append((name, rng))
            n_seen = sum(1 for r in srv.requests if r[0] == name)
        kind, body, ctype = srv.routes.get(name, ("404", b"", "text/plain"))
        if kind == "404":
            self.send_error(404)
        elif kind == "html":  # the soft-404 trap: a "not found" page with status 200
            self._send(200, body, "text/html; charset=utf-8")
        elif kind == "trunc" or (kind == "flaky" and n_seen == 1):
            self._send(200, body, ctype, cut=len(body) // 2)
        else:
            start = int(rng.split("=")[1].split("-")[0]) if rng and kind in ("file", "flaky") else 0
            if start >= len(body):  # as real servers do: nothing left to send
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(body)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif start:
                self._send(206, body[start:], ctype, content_range=f"bytes {start}-{len(body) - 1}/{len(body)}")
            else:
                self._send(200, body, ctype)

    def _send(self, code, body, ctype, cut=None, content_range=None):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Accept-Ranges", "bytes")
        if content_range:
            self.send_header("Content-Range", content_range)
        self.end_headers()
        self.wfile.write(body if cut is None else body[:cut])
        self.wfile.flush()
        if cut is not None:  # Content-Length promised more: close the connection mid-body
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    d = tmp_path_factory.mktemp("srv")
    tif = _make_tif(d / "good.tif")
    lbl, img = _make_pds()
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    srv.lock = threading.Lock()
    srv.requests = []
    srv.routes = {
        "good.tif": ("file", tif, "image/tiff"),
        "trap.tif": ("html", b"<!DOCTYPE html><html><body>Not Found</body></html>", "text/html"),
        "trunc.tif": ("trunc", tif, "image/tiff"),
        "badsum.tif": ("file", tif, "image/tiff"),
        "flaky.tif": ("flaky", tif, "image/tiff"),
        "notiff.tif": ("file", b"GIF89a" + bytes(200), "application/octet-stream"),
        "LDEM_TEST.LBL": ("file", lbl, "text/plain"),
        "LDEM_TEST.IMG": ("file", img, "application/octet-stream"),
        "short/LDEM_TEST.LBL": ("file", lbl, "text/plain"),
    }
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    srv.base = f"http://127.0.0.1:{srv.server_address[1]}"
    srv.tif, srv.lbl, srv.img = tif, lbl, img
    yield srv
    srv.shutdown()
    srv.server_close()


def _file(name, fmt, data=None, **kw):
    f = {"name": name, "url": f"https://example.invalid/lola/{name}", "format": fmt,
         "size_bytes": None if data is None else len(data),
         "sha256": None if data is None else hashlib.sha256(data).hexdigest(),
         "content_type": "image/tiff" if fmt == "geotiff" else None}
    f.update(kw)
    return f


@pytest.fixture(scope="module")
def manifest(server, tmp_path_factory):
    tif = server.tif
    prods = {
        "good": [_file("good.tif", "geotiff", tif)],
        "nosize": [_file("good.tif", "geotiff", None)],
        "trap": [_file("trap.tif", "geotiff", None)],
        "trunc": [_file("trunc.tif", "geotiff", None)],
        "badsum": [_file("badsum.tif", "geotiff", tif, sha256="0" * 64)],
        "missing": [_file("missing.tif", "geotiff", tif)],
        "flaky": [_file("flaky.tif", "geotiff", tif)],
        "notiff": [_file("notiff.tif", "geotiff", None)],
        "pds": [_file("LDEM_TEST.LBL", "pds3_label", None),
                _file("LDEM_TEST.IMG", "pds3_image", None, label="LDEM_TEST.LBL")],
    }
    doc = {"schema": 1, "citations": {"test": "A test product (not LOLA)."}, "products": {
        k: {"title": f"test product {k}", "citation": "test", "pixel_m": PDS_PIXEL_M if k == "pds" else TIF_PIXEL_M,
            "files": v} for k, v in prods.items()}}
    p = tmp_path_factory.mktemp("manifest") / "products.json"
    p.write_text(json.dumps(doc))
    return p


def _env():
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env["NO_PROXY"] = env["no_proxy"] = "*"
    env.pop("LUPEX_DATA_URL", None)
    env.pop("LUPEX_DATA_DIR", None)
    return env


def lupex_data(server, manifest, cache, *args, capsys=None):
    """``lupex data fetch ARGS`` against the test server: in a subprocess, or in this process through
    ``lupex.cli.main`` (exit status and stderr as a user sees them) when ``capsys`` is given (faster)."""
    argv = ["data", "fetch", *map(str, args), "--manifest", str(manifest), "--data-dir", str(cache),
            "--base-url", server.base, "-q"]
    if capsys is None:
        return subprocess.run([sys.executable, "-m", "lupex", *argv], capture_output=True, text=True, env=_env(),
                              timeout=120)
    from lupex import cli

    code = 0
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(sys, "argv", ["lupex", *argv])
        try:
            cli.main()
        except SystemExit as exc:
            code = exc.code
    cap = capsys.readouterr()
    return subprocess.CompletedProcess(argv, code, cap.out, cap.err)


def _one_line_error(r, needle):
    assert r.returncode == 2, r.stdout + r.stderr
    assert "Traceback" not in r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, r.stderr
    assert needle in lines[0], lines[0]


def _nothing_complete(cache, name):
    """No file at the final path, and nothing beside it that looks like the product."""
    assert not (cache / name).exists()
    leftovers = [p for p in cache.rglob("*") if p.is_file()]
    for p in leftovers:  # only a resumable .part under .partial/ may stay
        assert p.parent.name == fetch.PARTIAL_DIR and p.name.endswith(".part"), p


@pytest.fixture(autouse=True)
def _only_loopback(monkeypatch):
    """In-process code may connect to 127.0.0.1 and nowhere else."""
    real = socket.socket.connect

    def guarded(self, address):
        if isinstance(address, tuple) and address[0] not in ("127.0.0.1", "localhost"):
            raise AssertionError(f"test tried to reach {address}")
        return real(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)
    for k in [k for k in os.environ if "proxy" in k.lower()]:
        monkeypatch.delenv(k)
    monkeypatch.setenv("NO_PROXY", "*")


# --------------------------------------------------------------------------- the good case


def test_fetch_crop_and_read_back(server, manifest, tmp_path, capsys):
    """Download, verify (size and sha256 known), crop to a lat/lon box at a coarser 30 m pixel, read back with
    read_dem; each height must be the area-weighted mean of the 20 m source cells under it, computed here
    directly from the grid edges (the source is pixel-is-area)."""
    cache, out = tmp_path / "cache", tmp_path / "crop.tif"
    cx, cy = TIF_CENTRE
    geo = CRS.from_proj4(POLAR)
    lon, lat = Transformer.from_crs(geo, geo.geodetic_crs, always_xy=True).transform(cx, cy)
    r = lupex_data(server, manifest, cache, "good", "--crop", f"{lat:.10f},{lon:.10f},1.2", "--pixel-m", 30,
                   "--out", out)
    assert r.returncode == 0, r.stdout + r.stderr
    cached = cache / "good.tif"
    assert cached.read_bytes() == server.tif
    assert not list((cache / fetch.PARTIAL_DIR).glob("*")) if (cache / fetch.PARTIAL_DIR).exists() else True

    dem = read_dem(out)
    assert canonical_crs(dem.rio.crs) == "IAU_2015:30135"
    assert dem.shape == (40, 40) and pixel_size_m(dem) == pytest.approx(30.0, abs=1e-9)
    x, y = dem["x"].values, dem["y"].values
    assert x.mean() == pytest.approx(cx, abs=1e-3) and y.mean() == pytest.approx(cy, abs=1e-3)
    sx = TIF_ORIGIN[0] + np.arange(TIF_N + 1) * TIF_PIXEL_M  # source cell edges, x up, y down
    sy = TIF_ORIGIN[1] - np.arange(TIF_N + 1) * TIF_PIXEL_M
    src = plane_tif(*np.meshgrid((sx[:-1] + sx[1:]) / 2, (sy[:-1] + sy[1:]) / 2))
    wx = area_mean_1d(np.r_[x - 15.0, x[-1] + 15.0], sx)
    wy = area_mean_1d(-np.r_[y + 15.0, y[-1] - 15.0], -sy)
    np.testing.assert_allclose(dem.values, wy @ src @ wx.T, atol=0.01)  # m; float32 storage is ~1e-4 m here
    # and the area mean of a plane is the plane within a third of a source pixel's rise (0.2-0.4 m per 20 m)
    assert np.abs(dem.values - plane_tif(*np.meshgrid(x, y))).max() < 0.4 / 3
    assert dem.attrs["n_filled"] == 0

    again = lupex_data(server, manifest, cache, "good", capsys=capsys)  # cached: no new request
    assert again.returncode == 0
    assert sum(1 for n, _ in server.requests if n == "good.tif") == 1


def test_pds_label_then_image_then_crop(server, manifest, tmp_path, capsys):
    """A PDS3 product: the label comes first, the image is checked against the size it implies; the crop at
    the native 100 m pixel reproduces the product's own cells."""
    cache, out = tmp_path / "cache", tmp_path / "pds.tif"
    r = lupex_data(server, manifest, cache, "pds", "--crop", "-89.99,45,1", "--out", out, capsys=capsys)
    assert r.returncode == 0, r.stdout + r.stderr
    assert (cache / "LDEM_TEST.LBL").read_bytes() == server.lbl
    assert (cache / "LDEM_TEST.IMG").read_bytes() == server.img
    dem = read_dem(out)
    assert dem.shape == (10, 10) and pixel_size_m(dem) == pytest.approx(100.0)
    want = plane_pds(*np.meshgrid(dem["x"].values, dem["y"].values))
    np.testing.assert_allclose(dem.values, want, atol=0.01)


def test_resume_continues_with_a_range_request(server, manifest, tmp_path, capsys):
    """A transfer cut halfway keeps its .part; the next call asks for the rest (Range) and ends with the
    exact file, whose sha256 the manifest knows."""
    cache = tmp_path / "cache"
    first = lupex_data(server, manifest, cache, "flaky")  # a real process: exit 2, one line
    _one_line_error(first, "run the same command again to continue")
    _nothing_complete(cache, "flaky.tif")
    part = cache / fetch.PARTIAL_DIR / "flaky.tif.part"
    kept = part.stat().st_size
    assert 0 < kept <= len(server.tif) // 2  # whole chunks up to the break
    second = lupex_data(server, manifest, cache, "flaky", capsys=capsys)
    assert second.returncode == 0, second.stderr
    assert (cache / "flaky.tif").read_bytes() == server.tif
    assert not part.exists()
    assert ("flaky.tif", f"bytes={kept}-") in server.requests


def test_a_whole_partial_file_is_finished_not_fetched_again(server, manifest, tmp_path, capsys):
    """A .part that already holds every byte (the process died before the rename): the server answers the range
    request with 416, and the part is checked (sha256 included) and moved into place."""
    cache = tmp_path / "cache"
    part = cache / fetch.PARTIAL_DIR / "good.tif.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(server.tif)
    r = lupex_data(server, manifest, cache, "good", capsys=capsys)
    assert r.returncode == 0, r.stderr
    assert (cache / "good.tif").read_bytes() == server.tif and not part.exists()
    assert ("good.tif", f"bytes={len(server.tif)}-") in server.requests


def test_size_unknown_still_verified_by_magic(server, manifest, tmp_path, capsys):
    """Without a size or checksum in the manifest the TIFF header still decides."""
    assert lupex_data(server, manifest, tmp_path / "ok", "nosize", capsys=capsys).returncode == 0
    cache = tmp_path / "cache"
    r = lupex_data(server, manifest, cache, "notiff", capsys=capsys)
    _one_line_error(r, "is not a TIFF")
    _nothing_complete(cache, "notiff.tif")
    assert not (cache / fetch.PARTIAL_DIR / "notiff.tif.part").exists()


# --------------------------------------------------------------------------- the bad cases


@pytest.mark.parametrize("product,name,needle", [
    ("trap", "trap.tif", "HTML page"),
    ("trunc", "trunc.tif", "broke after"),
    ("badsum", "badsum.tif", "does not match the manifest's sha256"),
    ("missing", "missing.tif", "HTTP 404"),
])
def test_bad_download_exits_2_and_leaves_no_file(server, manifest, tmp_path, capsys, product, name, needle):
    cache = tmp_path / "cache"
    r = lupex_data(server, manifest, cache, product, capsys=capsys)
    _one_line_error(r, needle)
    _nothing_complete(cache, name)


def test_unreachable_mirror_exits_2(manifest, tmp_path, capsys):
    """Nothing listens on the port: one line that says the host cannot be reached, no file."""
    with socket.socket() as sk:  # a port that was free a moment ago
        sk.bind(("127.0.0.1", 0))
        port = sk.getsockname()[1]

    class Dead:
        base = f"http://127.0.0.1:{port}"

    r = lupex_data(Dead, manifest, tmp_path / "cache", "good", capsys=capsys)
    _one_line_error(r, "cannot reach http://127.0.0.1")
    _nothing_complete(tmp_path / "cache", "good.tif")


@pytest.mark.parametrize("args,needle", [
    (["nosuch"], "unknown product 'nosuch'"),
    (["good", "--crop", "abc", "--out", "x.tif"], "is not LAT,LON,SIZE_KM"),
    (["good", "--crop", "-89.4,10", "--out", "x.tif"], "is not LAT,LON,SIZE_KM"),
    (["good", "--crop", "45,10,5", "--out", "x.tif"], "not in the south"),
    (["good", "--crop", "-89.4,10,5"], "--crop needs --out"),
    (["good", "--crop", "-89.4,10,-5", "--out", "x.tif"], "must be above 0"),
])
def test_bad_input_exits_2_with_one_line(server, manifest, tmp_path, capsys, args, needle):
    r = lupex_data(server, manifest, tmp_path / "cache", *[str(tmp_path / a) if a == "x.tif" else a for a in args],
                   capsys=capsys)
    _one_line_error(r, needle)
    assert not (tmp_path / "x.tif").exists()


@pytest.mark.parametrize("product,crop", [("good", "-89.0,0,2"), ("good", "{lat},{lon},8"), ("pds", "-89.9,0,3")])
def test_crop_outside_the_product_exits_2(server, manifest, tmp_path, capsys, product, crop):
    """Wholly outside (1 deg from the tile), straddling its edge (8 km box on a 6 km tile), and off the PDS grid."""
    geo = CRS.from_proj4(POLAR)
    lon, lat = Transformer.from_crs(geo, geo.geodetic_crs, always_xy=True).transform(*TIF_CENTRE)
    out = tmp_path / "crop.tif"
    r = lupex_data(server, manifest, tmp_path / "cache", product, "--crop", crop.format(lat=lat, lon=lon),
                   "--out", out, capsys=capsys)
    _one_line_error(r, "outside")
    assert not out.exists()


# --------------------------------------------------------------------------- library and listing


def test_data_dir_and_base_url_overrides(monkeypatch, tmp_path):
    monkeypatch.setenv("LUPEX_DATA_DIR", str(tmp_path / "env"))
    assert fetch.data_dir() == tmp_path / "env"
    assert fetch.data_dir(tmp_path / "opt") == tmp_path / "opt"
    monkeypatch.delenv("LUPEX_DATA_DIR")
    assert fetch.data_dir().name == "lola"
    f = fetch.ProductFile(name="a.tif", url="https://example.invalid/x/a.tif", format="geotiff")
    assert fetch.file_url(f) == f.url
    monkeypatch.setenv("LUPEX_DATA_URL", "http://127.0.0.1:9/m/")
    assert fetch.file_url(f) == "http://127.0.0.1:9/m/a.tif"
    assert fetch.file_url(f, "http://127.0.0.1:8") == "http://127.0.0.1:8/a.tif"


def test_builtin_manifest_lists_the_native_products():
    """The shipped manifest: the products the issue names, https URLs on the PGDA and PDS hosts, every entry
    cited, sizes either exact bytes or null (never invented round numbers)."""
    prods = fetch.load_manifest()
    for name in ("site01", "site01_err", "site04", "site04_err", "ldem_80s_20mpp", "ldem_80s_40mpp",
                 "ldem_80s_80mpp", "ldem_75s_120m", "ldem_80s_20m"):
        assert name in prods, name
    for p in prods.values():
        assert p.citation_text and "doi:" in p.citation_text
        for f in p.files:
            assert f.url.startswith(("https://pgda.gsfc.nasa.gov/data/", "https://pds-geosciences.wustl.edu/"))
            assert f.url.rsplit("/", 1)[1] == f.name
    # a PDS int16 image is LINES x LINE_SAMPLES x 2 bytes: LDEM_75S_120M is 7624 x 7624 (its label)
    img = [f for f in prods["ldem_75s_120m"].files if f.format == "pds3_image"][0]
    assert img.size_bytes == 7624 * 7624 * 2 and img.label == "ldem_75s_120m.lbl"
    assert prods["ldem_75s_120m"].files[0].format == "pds3_label"  # the label comes first


def test_list_prints_products_and_cache_state(server, manifest, tmp_path, capsys):
    cache = tmp_path / "cache"
    assert lupex_data(server, manifest, cache, "good", capsys=capsys).returncode == 0
    r = subprocess.run([sys.executable, "-m", "lupex", "data", "list", "--manifest", str(manifest),
                        "--data-dir", str(cache)], capture_output=True, text=True, env={**_env(), "COLUMNS": "250"})
    assert r.returncode == 0, r.stderr
    rows = {ln.split("│")[1].strip(): ln for ln in r.stdout.splitlines() if ln.count("│") > 3}
    assert "yes" in rows["good"] and "no" in rows["trap"]
    assert "A test product (not LOLA)." in r.stdout
    builtin = subprocess.run([sys.executable, "-m", "lupex", "data", "list", "--data-dir", str(cache)],
                             capture_output=True, text=True, env={**_env(), "COLUMNS": "250"})
    assert builtin.returncode == 0 and "site01" in builtin.stdout and "10.1016/j.pss.2020.105119" in builtin.stdout


def test_help_gives_units():
    r = subprocess.run([sys.executable, "-m", "lupex", "data", "fetch", "--help"], capture_output=True, text=True,
                       env={**_env(), "COLUMNS": "250"})
    text = " ".join(r.stdout.split())
    assert "(deg)" in text and "(km)" in text and "pixel size of the crop, m" in text.lower()


SHARED = os.environ.get("LUPEX_SHARED_LOLA", "/work/shared/data/lola_south_pole")


@pytest.mark.skipif(not os.path.exists(os.path.join(SHARED, "lola_site01_connecting_ridge_10m.tif")),
                    reason="the shared real LOLA Site01 files are not on this machine")
def test_crop_of_real_site01_matches_the_published_block_mean(tmp_path):
    """Real LOLA data: crop the 10 m Site01 GeoTIFF to a 4 km box at 20 m. The shared data's 20 m file is the
    2 x 2 block mean of the 10 m one (its README), so on a grid aligned with it the crop must equal it."""
    ten = os.path.join(SHARED, "lola_site01_connecting_ridge_10m.tif")
    twenty = os.path.join(SHARED, "lola_site01_connecting_ridge_20m.tif")
    cx, cy = -11000.0, -12000.0  # a corner of the 20 m grid (edges at -19000 + 20 k), so the box aligns
    geo = CRS.from_proj4(POLAR)
    lon, lat = Transformer.from_crs(geo, geo.geodetic_crs, always_xy=True).transform(cx, cy)
    info = fetch.crop_to_site(ten, tmp_path / "c.tif", lat_deg=lat, lon_deg=lon, size_km=4.0, pixel_m=20.0)
    assert info["shape"] == (200, 200) and info["n_nodata"] == 0
    got = read_dem(tmp_path / "c.tif")
    ref = read_dem(twenty, bounds_m=(cx - 2000, cy - 2000, cx + 2000, cy + 2000))
    np.testing.assert_allclose(got["x"].values, ref["x"].values, atol=1e-6)
    np.testing.assert_allclose(got["y"].values, ref["y"].values, atol=1e-6)
    np.testing.assert_allclose(got.values, ref.values, atol=0.01)  # m: float32 rounding of ~1000 m heights
    lon_c, lat_c = Transformer.from_crs(geo, geo.geodetic_crs, always_xy=True).transform(
        got["x"].values.mean(), got["y"].values.mean())
    assert lat_c == pytest.approx(lat, abs=1e-9) and lon_c == pytest.approx(lon, abs=1e-7)
