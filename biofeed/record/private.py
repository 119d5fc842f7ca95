"""Files of health data: created readable and writable by their owner only (0600, whatever the
umask), folders 0700, never over an existing file, never through a symbolic link, and
published atomically.

:func:`create_private` opens a new file at its final name (the live session recorder, whose
SQLite file is crash-safe by itself, uses it). Every other output (exports, reports, batch
and synchrony tables, imported session files) goes through :class:`Staging` (or
:func:`private_output` for one file): each file is written under a hidden temporary name in
its own folder, ``.<name>.<16 hex digits>.part`` (``O_CREAT | O_EXCL | O_NOFOLLOW``, 0600;
random, so it never collides), and only when the whole output is complete is every file
fsynced and published under its final name with :func:`os.link` (which fails when the name
exists, even as a symbolic link, so nothing is overwritten or followed), the temporary name
unlinked and the folder fsynced. An output that fails removes its temporaries (and the files it
had published, should a later one of the same output already exist).

A ``kill -9`` before the publication leaves no file under a final name, only temporaries. A
kill during the publication (a link and an unlink per file, microseconds) can leave the first
files of the output under their final names, each complete, and a rerun then refuses them as
existing: this window cannot be closed without a rename of a whole folder. Temporaries never
block a rerun (their names are random) and are no recording to biofeed (``.part``: no reader
globs them); each is locked (``flock``) while its writer lives, and the next output written to
the same final name removes those left by a dead writer (only files and folders of that exact
name pattern, and only when their lock is free: a kill releases it).
"""
from __future__ import annotations

import fcntl
import os
import re
import secrets
import shutil
import stat
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Iterator

#: Suffix of the temporary names (``.<final name>.<token>.part``).
PART = ".part"
_TOKEN_HEX = 16
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


def create_private(path: Path, if_exists: str, binary: bool = False) -> IO:
    """A new file at ``path``, open for writing (text: UTF-8, newlines as written).

    Raises ``FileExistsError`` naming ``path`` and saying ``if_exists`` (what to do instead)
    when a file (or a symbolic link) is there already. Not atomic: use :class:`Staging` for
    outputs that must appear complete or not at all.
    """
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY | _NOFOLLOW | _CLOEXEC, 0o600)
    except FileExistsError:
        raise FileExistsError(f"{path}: exists already; {if_exists}") from None
    os.fchmod(fd, 0o600)  # whatever the umask
    return os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", encoding="utf-8", newline="")


def check_name(name: str, folder: str | os.PathLike, what: str = "stem") -> str:
    """``name`` when it is a plain file-name part that stays inside ``folder``; else a
    ``ValueError`` naming it and the folder. Refused: empty, absolute, a path separator, a NUL,
    ``..`` anywhere, ``.``."""
    folder = Path(folder)
    seps = {"/", os.sep, os.altsep or "/", "\\"}
    bad = ("is empty" if not name else
           "is absolute" if os.path.isabs(name) else
           "contains a path separator" if any(s in name for s in seps) else
           "contains a NUL character" if "\0" in name else
           "contains '..'" if ".." in name else
           "is '.'" if name == "." else "")
    if not bad and (folder / name).resolve().parent != folder.resolve():
        bad = "resolves outside the folder"
    if bad:
        raise ValueError(f"{what} {name!r} {bad}: every file must stay inside the output folder "
                         f"{str(folder)!r}")
    return name


def private_dir(path: str | os.PathLike, inside: str | os.PathLike | None = None) -> Path:
    """Create folder ``path`` and its missing parents, each 0700 (whatever the umask); existing
    folders keep their mode. Below ``inside`` (an output folder whose sub-folders biofeed
    names), a symbolic link or a non-folder in the way is refused (``FileExistsError``)."""
    path = Path(path)
    if inside is not None:
        inside = Path(inside)
        private_dir(inside)
        p = inside
        for part in path.relative_to(inside).parts:   # checked before anything is created
            p = p / part
            _mkdir(p)
            mode = os.lstat(p).st_mode
            if not stat.S_ISDIR(mode):
                raise FileExistsError(f"{p}: is {'a symbolic link' if stat.S_ISLNK(mode) else 'not a folder'}; "
                                      "biofeed writes into its own folders only: remove it")
        return path
    missing = []
    p = path
    while not os.path.lexists(p):
        missing.append(p)
        if p.parent == p:
            break
        p = p.parent
    for p in reversed(missing):
        _mkdir(p)
    if not path.is_dir():
        raise NotADirectoryError(f"{path}: not a folder")
    return path


def _mkdir(p: Path) -> None:
    """Folder ``p``, 0700 whatever the umask, unless something is there already."""
    try:
        os.mkdir(p, 0o700)
    except FileExistsError:
        return
    fd = os.open(p, os.O_RDONLY | os.O_DIRECTORY | _NOFOLLOW | _CLOEXEC)
    try:
        os.fchmod(fd, 0o700)
    finally:
        os.close(fd)


def _part_pattern(name: str) -> re.Pattern:
    return re.compile(rf"\.{re.escape(name)}\.[0-9a-f]{{{_TOKEN_HEX}}}{re.escape(PART)}")


def _lock(fd: int, block: bool) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if block else fcntl.LOCK_NB))
    except BlockingIOError:
        return False
    return True


def _same(path: Path, fd: int) -> bool:
    """``path`` is still the file (or folder) open as ``fd``, not a replacement."""
    try:
        a, b = os.lstat(path), os.fstat(fd)
    except FileNotFoundError:
        return False
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def remove_stale_parts(final: Path) -> list[Path]:
    """Remove the temporaries of ``final`` (files or folders ``.<name>.<token>.part`` beside it)
    whose writer is dead (their lock is free); returns them. Symbolic links are left alone."""
    pattern, removed = _part_pattern(final.name), []
    try:
        names = os.listdir(final.parent)
    except FileNotFoundError:
        return removed
    for name in names:
        if not pattern.fullmatch(name):
            continue
        p = final.parent / name
        try:
            fd = os.open(p, os.O_RDONLY | _NOFOLLOW | _CLOEXEC)
        except OSError:
            continue                                   # gone, or a symbolic link (ELOOP)
        try:
            if _lock(fd, block=False) and _same(p, fd):
                if stat.S_ISDIR(os.fstat(fd).st_mode):
                    shutil.rmtree(p)
                else:
                    os.unlink(p)
                removed.append(p)
        finally:
            os.close(fd)
    return removed


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | _CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass
class _Part:
    final: Path
    temp: Path
    fd: int                  # holds the lock while the output lives
    folder: bool = False
    if_missing: bool = False  # published only when no file has the final name (else dropped)


class Staging:
    """The files of one output, written as locked temporaries beside their final names and
    published together by :meth:`publish` (module notes). Use as a context manager: publishes
    on success, removes the temporaries (and what it published) on any exception.

    ``if_exists`` says what to do instead when a final name exists (it ends the
    ``FileExistsError``). Final names are checked when a file is staged (to fail before the
    writing) and at publication (the link refuses them).
    """

    def __init__(self, if_exists: str) -> None:
        self.if_exists = if_exists
        self._parts: list[_Part] = []
        self._files: list[IO] = []
        self.published: list[Path] = []

    def __enter__(self) -> "Staging":
        return self

    def __exit__(self, kind, exc, tb) -> None:
        if kind is None:
            self.publish()
        else:
            self.discard(published=True)

    def _refuse_existing(self, final: Path) -> None:
        if os.path.lexists(final):
            raise FileExistsError(f"{final}: exists already; {self.if_exists}")
        if any(p.final == final for p in self._parts):
            raise FileExistsError(f"{final}: written twice by one output")

    def _new(self, final: Path, folder: bool) -> _Part:
        final = Path(final)
        remove_stale_parts(final)
        while True:
            temp = final.with_name(f".{final.name}.{secrets.token_hex(_TOKEN_HEX // 2)}{PART}")
            if folder:
                os.mkdir(temp, 0o700)                 # fails on anything already there
                try:
                    fd = os.open(temp, os.O_RDONLY | os.O_DIRECTORY | _NOFOLLOW | _CLOEXEC)
                except FileNotFoundError:
                    continue                          # a sweeper removed it: take another
                os.fchmod(fd, 0o700)
            else:
                fd = os.open(temp, os.O_CREAT | os.O_EXCL | os.O_WRONLY | _NOFOLLOW | _CLOEXEC,
                             0o600)
                os.fchmod(fd, 0o600)
            _lock(fd, block=True)
            if _same(temp, fd):   # a sweeper that locked it first has removed it: take another
                break
            os.close(fd)
        part = _Part(final, temp, fd, folder)
        self._parts.append(part)
        return part

    def open(self, final: str | os.PathLike, binary: bool = False,
             if_missing: bool = False) -> IO:
        """A new temporary for ``final``, open for writing (text: UTF-8, newlines as written);
        close it before :meth:`publish`. ``if_missing``: when ``final`` exists, skip it (the
        file is written but not published)."""
        final = Path(final)
        if not if_missing:
            self._refuse_existing(final)
        part = self._new(final, folder=False)
        part.if_missing = if_missing
        fd = os.dup(part.fd)
        f = os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", encoding="utf-8", newline="")
        self._files.append(f)
        return f

    def path(self, final: str | os.PathLike) -> Path:
        """The (empty, 0600) temporary for ``final``, for libraries that write to a file name."""
        final = Path(final)
        self._refuse_existing(final)
        return self._new(final, folder=False).temp

    def folder(self, final_dir: str | os.PathLike, name: str) -> Path:
        """A temporary folder (0700) in ``final_dir`` for a writer that names its one file
        itself; :meth:`adopt` the file it wrote there."""
        return self._new(Path(final_dir) / name, folder=True).temp

    def adopt(self, folder: Path, file: Path) -> Path:
        """Stage ``file``, written in the temporary ``folder``, for publication in the
        folder's own folder under its name; returns that final name."""
        part = next(p for p in self._parts if p.temp == folder and p.folder)
        final = part.final.parent / file.name
        self._refuse_existing(final)
        fd = os.open(file, os.O_RDONLY | _NOFOLLOW | _CLOEXEC)
        self._parts.append(_Part(final, file, fd))
        return final

    def publish(self) -> list[Path]:
        """fsync every file, link each under its final name, unlink the temporaries; returns the
        final names published. On a final name that exists, what was published is removed and
        ``FileExistsError`` raised."""
        try:
            for f in self._files:
                f.close()                    # flushes what the caller left open
            self._files = []
            files = [p for p in self._parts if not p.folder]
            for part in files:
                if not _same(part.temp, part.fd):
                    raise RuntimeError(f"{part.temp}: replaced while being written")
                os.fsync(part.fd)
            for part in files:
                try:
                    os.link(part.temp, part.final)  # fails on any name there, link or not
                except FileExistsError:
                    if part.if_missing:
                        continue
                    raise FileExistsError(f"{part.final}: exists already; {self.if_exists}") from None
                self.published.append(part.final)
            for folder in {p.final.parent for p in files}:
                _fsync_dir(folder)
        except BaseException:
            self.discard(published=True)
            raise
        self.discard(published=False)
        return list(self.published)

    def discard(self, published: bool) -> None:
        """Remove the temporaries (and with ``published`` the files published) and unlock."""
        for f in self._files:
            try:
                f.close()
            except OSError:
                pass
        self._files = []
        if published:
            for path in self.published:
                path.unlink(missing_ok=True)
            self.published = []
        for part in reversed(self._parts):
            try:
                if _same(part.temp, part.fd):
                    if part.folder:
                        shutil.rmtree(part.temp, ignore_errors=True)
                    else:
                        os.unlink(part.temp)
            except FileNotFoundError:
                pass
            finally:
                os.close(part.fd)
        self._parts = []


@contextmanager
def private_output(path: str | os.PathLike, if_exists: str, binary: bool = False) -> Iterator[IO]:
    """One file published atomically (:class:`Staging`): yields its temporary, open for
    writing; on success it appears, complete and 0600, under ``path``; never over an existing
    file or through a symbolic link; on an error nothing is left."""
    with Staging(if_exists) as stage:
        with stage.open(path, binary) as f:
            yield f
