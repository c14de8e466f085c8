"""Resumable HTTP(S) file download: streaming, Range requests after an interruption, sha256, atomic.

The partial file `<dest>.part` survives a failed or killed download; the next attempt (in the
same call or a later run) asks for the remaining bytes with a Range request and appends them,
or starts over when the server ignores Range. Only a complete file whose checksum matches
(when one is given) is renamed to `dest`.
"""

import hashlib
import os
import sys
import time
from pathlib import Path

import httpx


class DownloadError(RuntimeError):
    def __init__(self, message, status=None):
        super().__init__(message)
        self.status = status  # the HTTP status when the server refused


def sha256_of(path, chunk=1 << 20):
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


def _fetch_once(client, url, part, progress):
    have = part.stat().st_size if part.exists() else 0
    headers = {"Range": f"bytes={have}-"} if have else {}
    with client.stream("GET", url, headers=headers) as response:
        if response.status_code == 416 and have:  # nothing left to fetch
            return
        if response.status_code not in (200, 206):
            raise DownloadError(f"{url}: HTTP {response.status_code}", status=response.status_code)
        resumed = response.status_code == 206
        mode = "ab" if resumed else "wb"  # 200 to a Range request: the server sends it all
        total = response.headers.get("content-length")
        total = int(total) + (have if resumed else 0) if total else None
        done = have if resumed else 0
        shown = time.monotonic()
        with open(part, mode) as fh:
            for block in response.iter_raw():  # raw bytes, as they arrive: offsets stay exact
                fh.write(block)
                done += len(block)
                if time.monotonic() - shown > 5:
                    shown = time.monotonic()
                    size = f"/{total / 1e6:.1f}" if total else ""
                    print(f"download {url}: {done / 1e6:.1f}{size} MB", file=progress, flush=True)
        if total is not None and done < total:
            raise DownloadError(f"{url}: connection closed after {done} of {total} bytes")


def download(url, dest, sha256=None, retries=5, timeout=60.0, progress=sys.stderr, transport=None):
    """Fetch `url` to `dest` (resuming a previous partial download); returns `dest`."""
    dest = Path(dest)
    if dest.exists() and (sha256 is None or sha256_of(dest) == sha256):
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    last = None
    with httpx.Client(timeout=timeout, follow_redirects=True, transport=transport) as client:
        for attempt in range(retries + 1):
            try:
                _fetch_once(client, url, part, progress)
                break
            except (httpx.TransportError, DownloadError) as err:
                last = err
                if getattr(err, "status", None) and 400 <= err.status < 500:
                    raise  # the address or the permission is wrong: retrying cannot help
                print(
                    f"download {url}: {err}; resuming (attempt {attempt + 1} of {retries})", file=progress, flush=True
                )
                time.sleep(min(30, 0.5 * 2**attempt))
        else:
            raise DownloadError(f"{url}: failed after {retries} retries: {last}")
    if sha256:
        got = sha256_of(part)
        if got != sha256:
            part.unlink()
            raise DownloadError(f"{url}: sha256 mismatch, expected {sha256} but got {got}")
    os.replace(part, dest)
    return dest
