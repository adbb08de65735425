"""One checkpoint as one zip file: made for download, and checked completely when one is uploaded.

The zip holds one folder named after the checkpoint with `model.safetensors`, `config.json` and its
stored map `umap_<dataset>.npz` if it has one, so unzipping it gives a checkpoint folder that
`checkpoints.load` reads (and `explorer.load_checkpoint` reads the zip as it is).

An uploaded zip comes from anyone, so before anything is listed it must pass, in this order:
its size; only the expected members (one optional folder, no absolute paths, no `..`, no links,
no encryption, no two members whose names collide); no pickle anywhere (refused, never unpickled);
then, unpacked into a hidden staging folder, the checks every checkpoint passes (`checkpoints.verify`:
config validated by `ModelConfig`, every tensor's shape against the model that config builds; its
dataset; finite weights) and a map without pickled arrays. Only then is the folder renamed into
place under a clean name no other checkpoint has. A bad file gets one message, and nothing is left.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import stat
import tempfile
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath

import numpy as np

from . import checkpoints
from .data import DATASETS
from .errors import CheckpointError, ExplorerError

MAP_PATTERN = re.compile(r"umap_(%s)\.npz\Z" % "|".join(re.escape(name) for name in DATASETS))
DEFAULT_MAX_UPLOAD_MB = 50  # the shipped checkpoints are 1-3 MB; a model at MAX_PARAMETERS would be 200 MB
MAX_MEMBERS = 8  # a folder entry and three files, with room for the entries some zip tools add
MAX_MAP_BYTES = 16_000_000  # a map of 70,000 digits is 0.6 MB
MAX_MAP_ROWS = 1_000_000
ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # fixed, so one checkpoint always gives the same bytes
FALLBACK_NAME = "uploaded"


# ---------------------------------------------------------------- settings


def _flag(variable: str, default: bool) -> bool:
    value = os.environ.get(variable, "").strip().lower()
    if not value:
        return default
    return value in ("1", "true", "yes", "on")


def uploads_allowed() -> bool:
    """False when $LATENT_LAB_UPLOADS is 0/false/off, or the whole app is read-only."""
    return _flag("LATENT_LAB_UPLOADS", True) and not checkpoints.read_only()


def max_upload_bytes() -> int:
    """The largest checkpoint file accepted: $LATENT_LAB_MAX_UPLOAD_MB megabytes (default 50)."""
    text = os.environ.get("LATENT_LAB_MAX_UPLOAD_MB", "").strip()
    try:
        megabytes = float(text) if text else DEFAULT_MAX_UPLOAD_MB
    except ValueError:
        megabytes = DEFAULT_MAX_UPLOAD_MB
    return int(max(megabytes, 0.001) * 1_000_000)


# ---------------------------------------------------------------- download


def archive_name(checkpoint_name: str) -> str:
    return f"{checkpoint_name}.zip"


def checkpoint_files(path: str | Path) -> list[Path]:
    """The files of a checkpoint folder that go into its archive: weights, config, stored maps."""
    path = Path(path)
    maps = sorted(p for p in path.glob("umap_*.npz") if MAP_PATTERN.fullmatch(p.name) and p.is_file())
    return [path / checkpoints.WEIGHTS_FILE, path / checkpoints.CONFIG_FILE, *maps]


def export_archive(path: str | Path) -> bytes:
    """The checkpoint folder at `path` as zip bytes: `NAME/model.safetensors`, `NAME/config.json` and
    `NAME/umap_<dataset>.npz` if stored. The same files always give the same bytes."""
    path = Path(path)
    checkpoints.verify(path)  # never hand out a broken checkpoint
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for file in checkpoint_files(path):
            info = zipfile.ZipInfo(f"{path.name}/{file.name}", date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = (stat.S_IFREG | 0o644) << 16
            archive.writestr(info, file.read_bytes())
    return buffer.getvalue()


# ---------------------------------------------------------------- reading an archive someone else made


@dataclass
class ArchiveContents:
    folder: str | None  # the one folder the files sit in, if any
    files: dict[str, bytes]  # "model.safetensors", "config.json" and maybe "umap_<dataset>.npz" -> bytes


def _refuse(file_name: str, problem: str) -> CheckpointError:
    return CheckpointError(f"{file_name}: {problem}")


def _looks_like_pickle(data: bytes) -> bool:
    """Pickle protocol 2-5 starts with 0x80 and the protocol number; torch.save files are zips of pickles."""
    return len(data) >= 2 and data[0] == 0x80 and 2 <= data[1] <= 5


def _open_zip(data: bytes, file_name: str) -> zipfile.ZipFile:
    limit = max_upload_bytes()
    if len(data) > limit:
        raise _refuse(file_name, f"the file is {len(data) / 1e6:.1f} MB; this server accepts checkpoint files up "
                                 f"to {limit / 1e6:g} MB.")
    if _looks_like_pickle(data):
        raise _refuse(file_name, "this is a pickle file. Pickles can run any code when loaded, so they are refused "
                                 "(and never opened). Upload a checkpoint zip downloaded from Latent Lab.")
    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError):
        raise _refuse(file_name, "this is not a zip file, or it is truncated. Upload the whole .zip file "
                                 "downloaded from Latent Lab's Models page.") from None


def _member_path(info: zipfile.ZipInfo, file_name: str) -> PurePosixPath:
    """The member's path, refused when it could lead anywhere but into one plain folder."""
    name = info.filename
    if name.startswith(("/", "\\")) or re.match(r"[A-Za-z]:", name) or "\\" in name:
        raise _refuse(file_name, f"the archive holds a member with an absolute or Windows path ({name!r}); "
                                 "a checkpoint archive holds only plain file names.")
    path = PurePosixPath(name)
    if ".." in path.parts:
        raise _refuse(file_name, f"the archive holds a member that points outside its folder ({name!r}); "
                                 "it is refused (a 'zip slip').")
    if stat.S_ISLNK(info.external_attr >> 16):
        raise _refuse(file_name, f"the archive holds a link ({name!r}); links are refused.")
    if info.flag_bits & 0x1:
        raise _refuse(file_name, f"{name!r} is encrypted; upload an archive without a password.")
    if len(path.parts) > 2 or (info.is_dir() and len(path.parts) != 1):
        raise _refuse(file_name, f"unexpected member {name!r}: a checkpoint archive holds one folder at most.")
    return path


def _refuse_pickle(base: str, file_name: str) -> None:
    if base.lower().endswith(checkpoints.PICKLE_SUFFIXES):
        raise _refuse(file_name, f"the archive holds a pickle file ({base!r}), which can run any code when loaded: "
                                 "refused, and never opened. Checkpoints here are safetensors.")


def _expected(base: str, file_name: str) -> None:
    if base not in (checkpoints.WEIGHTS_FILE, checkpoints.CONFIG_FILE) and not MAP_PATTERN.fullmatch(base):
        raise _refuse(file_name, f"unexpected member {base!r}: a checkpoint archive holds only "
                                 f"{checkpoints.WEIGHTS_FILE}, {checkpoints.CONFIG_FILE} and umap_<dataset>.npz.")


def _member_limit(base: str) -> int:
    if base == checkpoints.CONFIG_FILE:
        return checkpoints.MAX_CONFIG_BYTES
    if base == checkpoints.WEIGHTS_FILE:
        return 2 * max_upload_bytes()  # weights barely compress: more than this unpacked is a zip bomb
    return MAX_MAP_BYTES


def _listed_members(archive: zipfile.ZipFile, file_name: str) -> tuple[str | None, dict[str, zipfile.ZipInfo]]:
    """(folder, {file name: member}) after checking every member's path, kind and declared size."""
    infos = archive.infolist()
    for info in infos:  # first, so a torch.save file (a zip of pickles) is named for what it is
        _refuse_pickle(PurePosixPath(info.filename.replace("\\", "/")).name, file_name)
    if len(infos) > MAX_MEMBERS:
        raise _refuse(file_name, f"the archive holds {len(infos)} members; a checkpoint archive holds 2 or 3.")
    folders, members, seen = set(), {}, set()
    for info in infos:
        path = _member_path(info, file_name)
        if info.is_dir():
            folders.add(path.parts[0])
            continue
        if len(path.parts) == 2:
            folders.add(path.parts[0])
        _expected(path.name, file_name)
        if info.filename.lower() in seen:  # case-insensitive file systems would write both to one file
            raise _refuse(file_name, f"two members of the archive are named {info.filename!r}: refused, as "
                                     "one would overwrite the other.")
        seen.add(info.filename.lower())
        if path.name in members:
            raise _refuse(file_name, f"the archive holds {path.name!r} twice: refused, as one would overwrite "
                                     "the other.")
        if info.file_size > _member_limit(path.name):
            raise _refuse(file_name, f"{path.name} unpacks to {info.file_size / 1e6:.1f} MB, more than a "
                                     f"checkpoint's {path.name} may be ({_member_limit(path.name) / 1e6:g} MB).")
        members[path.name] = info
    if len(folders) > 1:
        raise _refuse(file_name, f"the archive holds several folders ({', '.join(sorted(map(repr, folders)))}); "
                                 "a checkpoint archive holds one.")
    missing = [f for f in (checkpoints.WEIGHTS_FILE, checkpoints.CONFIG_FILE) if f not in members]
    if missing:
        raise _refuse(file_name, f"the archive has no {' and no '.join(missing)}: it is not a Latent Lab checkpoint.")
    return (folders.pop() if folders else None), members


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, file_name: str) -> bytes:
    """A member's bytes, reading at most its limit (a member may unpack to more than it declares)."""
    base = PurePosixPath(info.filename).name
    limit = _member_limit(base)
    try:
        with archive.open(info) as member:
            data = member.read(limit + 1)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError, NotImplementedError) as error:
        raise _refuse(file_name, f"{base} is damaged or truncated inside the archive ({error}).") from None
    if len(data) > limit:
        raise _refuse(file_name, f"{base} unpacks to more than {limit / 1e6:g} MB.")
    if base == checkpoints.WEIGHTS_FILE and (_looks_like_pickle(data) or data[:2] == b"PK"):
        raise _refuse(file_name, f"{base} is a pickle (e.g. from torch.save), not a safetensors file: refused, and "
                                 "never unpickled. Save the weights with safetensors.")
    return data


def read_archive(data: bytes, file_name: str = "upload.zip") -> ArchiveContents:
    """Check an archive's size and members and read them; raises CheckpointError naming the problem."""
    with _open_zip(data, file_name) as archive:
        folder, members = _listed_members(archive, file_name)
        files = {base: _read_member(archive, info, file_name) for base, info in members.items()}
    return ArchiveContents(folder, files)


# ---------------------------------------------------------------- checking the unpacked checkpoint


def _check_map(path: Path, base: str, dataset: str, file_name: str) -> None:
    """A stored map must be for the model's dataset and hold only plain arrays (no pickled objects)."""
    if MAP_PATTERN.fullmatch(base).group(1) != dataset:
        raise _refuse(file_name, f"{base} is a map of another dataset than the model's ({dataset}).")
    try:
        with np.load(path / base, allow_pickle=False) as stored:
            keys = set(stored.files)
            embedding, fingerprint = stored.get("embedding"), stored.get("fingerprint")
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as error:
        raise _refuse(file_name, f"{base} is not a map this app wrote ({error}).") from None
    good = (keys == {"embedding", "fingerprint"} and fingerprint.ndim == 0 and fingerprint.dtype.kind == "U"
            and embedding.dtype.kind == "f" and embedding.ndim == 2 and embedding.shape[1] == 2
            and len(embedding) <= MAX_MAP_ROWS and np.isfinite(embedding).all())
    if not good:
        raise _refuse(file_name, f"{base} is not a map this app wrote (it needs a finite (N, 2) 'embedding' and a "
                                 "'fingerprint').")


@dataclass
class CheckedArchive:
    """An uploaded archive that passed every check: its files and its config.json."""

    file_name: str
    contents: ArchiveContents
    info: dict


def _write_files(contents: ArchiveContents, folder: Path) -> None:
    for base, data in contents.files.items():
        (folder / base).write_bytes(data)


def check_archive(data: bytes, file_name: str = "upload.zip") -> CheckedArchive:
    """Every check of an uploaded checkpoint zip (see the module notes), done in a temporary folder
    outside the checkpoints folder. Raises CheckpointError with one message naming the problem."""
    contents = read_archive(data, file_name)
    with tempfile.TemporaryDirectory(prefix="latent-lab-upload-") as folder:
        unpacked = Path(folder) / "upload"
        unpacked.mkdir()
        _write_files(contents, unpacked)
        try:
            info = checkpoints.verify(unpacked)
            dataset = checkpoints.check_dataset(info, unpacked.name)
            checkpoints.load(unpacked)  # reads every weight: NaN or infinite numbers are refused too
        except CheckpointError as error:
            message = str(error).replace(str(unpacked), "the checkpoint").replace(f"{unpacked.name}: ", "")
            raise _refuse(file_name, message) from None
        for base in contents.files:
            if MAP_PATTERN.fullmatch(base):
                _check_map(unpacked, base, dataset, file_name)
    return CheckedArchive(file_name, contents, info)


# ---------------------------------------------------------------- names


def clean_name(text: str) -> str:
    """A valid checkpoint name made from any text (a file or folder name): other characters become '_',
    at most 64, starting with a letter or digit; 'uploaded' when nothing is left."""
    stem = re.sub(r"\.zip\Z", "", str(text), flags=re.IGNORECASE)
    name = re.sub(r"[^A-Za-z0-9_\-]+", "_", stem)
    name = re.sub(r"\A[^A-Za-z0-9]+", "", name)[:48].rstrip("_-")  # room left for a "_2" suffix
    if not name:
        return FALLBACK_NAME
    return name if checkpoints.name_problem(name) is None else f"my_{name}"


def unique_name(base: str, taken: set[str]) -> str:
    """base, or base_2, base_3, ... whichever is not taken (compared without case, as Windows and macOS do)."""
    lowered = {name.lower() for name in taken}
    name, n = base, 2
    while name.lower() in lowered:
        name, n = f"{base}_{n}", n + 1
    return name


def taken_names(root: Path) -> set[str]:
    """Every name in the checkpoints folder, readable or not: an upload never replaces anything."""
    return {entry.name for entry in root.iterdir()} if root.is_dir() else set()


def suggested_name(file_name: str, contents: ArchiveContents | None = None, root: str | Path | None = None) -> str:
    """The name an upload gets unless the user picks one: its folder's (or file's) name, cleaned, made unique."""
    root = Path(root or checkpoints.DEFAULT_DIR)
    source = contents.folder if contents is not None and contents.folder else file_name
    return unique_name(clean_name(source), taken_names(root))


def _check_new_name(name: str, root: Path) -> str:
    checkpoints.check_name(name)
    if name.lower() in {taken.lower() for taken in taken_names(root)}:
        raise ExplorerError(f"A checkpoint named {name!r} exists already; pick another name (nothing was "
                            "replaced).")
    return name


# ---------------------------------------------------------------- import


def add_archive(checked: CheckedArchive, name: str | None = None, root: str | Path | None = None) -> Path:
    """Add a checked archive to the checkpoints folder as `name` (default: suggested_name), atomically:
    its files go into a hidden staging folder that is renamed into place. Returns the new folder;
    raises ExplorerError, with nothing written, when uploads are off or the name is taken."""
    if not uploads_allowed():
        raise ExplorerError("Uploading checkpoints is turned off on this server.")
    root = Path(root or checkpoints.DEFAULT_DIR)
    name = _check_new_name(name if name is not None else suggested_name(checked.file_name, checked.contents, root),
                           root)
    try:
        root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{name}.upload.", suffix=".saving", dir=root))
    except OSError as error:
        raise ExplorerError(f"Cannot write to the checkpoints folder: {error.strerror or error}.") from None
    try:
        _write_files(checked.contents, staging)
        with checkpoints.folder_lock(root):
            _check_new_name(name, root)  # another upload may have taken it meanwhile
            os.rename(staging, root / name)  # atomic: the folder appears complete or not at all
    except OSError as error:
        shutil.rmtree(staging, ignore_errors=True)
        raise ExplorerError(f"Adding {name} failed: {error.strerror or error}. Nothing was added.") from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return root / name


def import_archive(data: bytes, file_name: str = "upload.zip", name: str | None = None,
                   root: str | Path | None = None) -> Path:
    """check_archive, then add_archive: an uploaded zip added to the checkpoints folder, or one message and
    nothing written."""
    if not uploads_allowed():
        raise ExplorerError("Uploading checkpoints is turned off on this server.")
    return add_archive(check_archive(data, file_name), name, root)


def load_archive(path: str | Path, device: str = "cpu") -> checkpoints.Checkpoint:
    """Load a checkpoint zip (as downloaded from the app) without unpacking it anywhere lasting."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise CheckpointError(f"Cannot read {path}: {error.strerror or error}.") from None
    contents = read_archive(data, path.name)
    with tempfile.TemporaryDirectory(prefix="latent-lab-") as folder:
        staging = Path(folder) / clean_name(contents.folder or path.name)
        staging.mkdir()
        for base, member in contents.files.items():
            (staging / base).write_bytes(member)
        checkpoint = checkpoints.load(staging, device)
    return replace(checkpoint, path=path.with_suffix(""))
