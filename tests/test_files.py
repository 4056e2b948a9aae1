"""The one atomic writer (rmprof/files.py) and the writers that use it: whole files or none, shared modes,
no temporary file left behind."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from rmprof.files import atomic_path, staged_dir, write_bytes_atomic, write_text_atomic
from tests.conftest import run_cli


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_text_and_bytes_land_whole_with_a_shared_mode(tmp_path: Path) -> None:
    text, data = tmp_path / "deep" / "a.txt", tmp_path / "b.bin"
    write_text_atomic(text, "héllo\n")
    write_bytes_atomic(data, b"\x00\x01\xff")
    assert text.read_bytes() == "héllo\n".encode()
    assert data.read_bytes() == b"\x00\x01\xff"
    assert (_mode(text), _mode(data)) == (0o644, 0o644)  # not mkstemp's 0600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.bin", "deep"]


def test_a_replaced_file_keeps_its_mode(tmp_path: Path) -> None:
    path = tmp_path / "private.json"
    path.write_text("old\n", encoding="utf-8")
    path.chmod(0o600)
    write_text_atomic(path, "new\n")
    assert (path.read_text(encoding="utf-8"), _mode(path)) == ("new\n", 0o600)


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "out.bin"
    path.write_bytes(b"old")

    def full_disk(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(OSError) as caught:
        write_bytes_atomic(path, b"new")
    assert caught.value.filename == str(path), "the error names the file asked for, not the temporary one"
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.bin"]


def test_atomic_path_publishes_what_was_written_by_name_only_when_the_block_completes(tmp_path: Path) -> None:
    path = tmp_path / "out.ndjson"
    path.write_text("earlier\n", encoding="utf-8")
    with pytest.raises(RuntimeError), atomic_path(path, suffix=".partial.ndjson") as tmp:
        assert tmp.parent == tmp_path and tmp.name.endswith(".partial.ndjson")
        tmp.write_text("half\n", encoding="utf-8")
        raise RuntimeError("the run failed")
    assert path.read_text(encoding="utf-8") == "earlier\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.ndjson"]
    with atomic_path(path) as tmp:
        tmp.write_text("1\n2\n", encoding="utf-8")
    assert (path.read_text(encoding="utf-8"), _mode(path)) == ("1\n2\n", 0o644)
    assert [p.name for p in tmp_path.iterdir()] == ["out.ndjson"]


def test_atomic_path_in_a_missing_folder_names_the_file_asked_for(tmp_path: Path) -> None:
    path = tmp_path / "no" / "o.ndjson"
    with pytest.raises(FileNotFoundError) as caught, atomic_path(path):
        pytest.fail("the block must not run")
    assert caught.value.filename == str(path)


def _fifo_with_a_reader(path: Path) -> int:
    """A FIFO at ``path`` and a non-blocking read end, so that writers neither block nor lose their bytes."""
    os.mkfifo(path)
    return os.open(path, os.O_RDONLY | os.O_NONBLOCK)


def test_a_pipe_or_device_is_written_in_place_never_renamed_over(tmp_path: Path) -> None:
    # `-o /dev/null` (or /dev/stdout, a FIFO) as root renamed a regular file over the device node itself.
    fifo = tmp_path / "out.fifo"
    reader = _fifo_with_a_reader(fifo)
    try:
        write_text_atomic(fifo, "a\n")
        with atomic_path(fifo, suffix=".partial.ndjson") as tmp:
            tmp.write_text("b\n", encoding="utf-8")
        assert stat.S_ISFIFO(fifo.stat().st_mode)
        assert os.read(reader, 100) == b"a\nb\n"
    finally:
        os.close(reader)
    assert [p.name for p in tmp_path.iterdir()] == ["out.fifo"]


def test_run_output_to_a_pipe_is_checked_before_it_is_written(tmp_path: Path) -> None:
    fifo = tmp_path / "out.fifo"
    reader = _fifo_with_a_reader(fifo)
    try:
        done = run_cli("run", "-s", "simple", "-o", str(fifo))
        assert done.returncode == 0, done.stderr  # checked against expected.json without reading the pipe back
        assert "outputs match the expected outputs" in done.stdout
        assert stat.S_ISFIFO(fifo.stat().st_mode)
        lines = os.read(reader, 1 << 16).decode().splitlines()
    finally:
        os.close(reader)
    assert (len(lines), lines[0]) == (100, '{"sink":"sink","item":5}')


def test_pprof_and_noise_files_go_through_the_writer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The exporters and the noise floors write whole files with the shared mode (the noise file was 0600)."""
    from rmprof.bench.noise import read_noise_file, save_floors
    from rmprof.exporters.pprof import read_pprof, write_pprof
    from rmprof.profile_model import Profile

    monkeypatch.setenv("RMPROF_BASELINE_DIR", str(tmp_path / "baselines"))
    noise = save_floors({"runs": 3, "floors": {"python/run": 0.02}}, {"machine": "m"}, ["rmprof", "calibrate"])
    assert read_noise_file(noise)["machines"]
    assert json.loads(noise.read_text(encoding="utf-8"))["schema"] == "rmprof.noise/1"
    profile = Profile(runtime="python", profiler="cprofile", kind="cpu", unit="samples")
    pprof = write_pprof(profile, tmp_path / "p" / "x.pb.gz")
    assert read_pprof(pprof.read_bytes()) is not None
    assert (_mode(noise), _mode(pprof)) == (0o644, 0o644)
    assert [p.name for p in noise.parent.iterdir()] == [noise.name]
    assert [p.name for p in pprof.parent.iterdir()] == ["x.pb.gz"]


def _tree(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): p.read_text(encoding="utf-8") for p in folder.rglob("*") if p.is_file()}


def test_a_staged_dir_replaces_the_old_one_whole(tmp_path: Path) -> None:
    final = tmp_path / "run"
    final.mkdir()
    (final / "old.txt").write_text("old\n", encoding="utf-8")
    with staged_dir(final) as new:
        assert new.parent == tmp_path and not final.samefile(new)
        (new / "results.json").write_text("{}\n", encoding="utf-8")
    assert _tree(final) == {"results.json": "{}\n"}
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def test_a_failed_block_leaves_the_old_dir_and_nothing_beside_it(tmp_path: Path) -> None:
    final = tmp_path / "run"
    final.mkdir()
    (final / "old.txt").write_text("old\n", encoding="utf-8")
    with pytest.raises(KeyboardInterrupt), staged_dir(final) as new:
        (new / "half.txt").write_text("half", encoding="utf-8")
        raise KeyboardInterrupt
    assert _tree(final) == {"old.txt": "old\n"}
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def test_a_failed_swap_puts_the_old_dir_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The old directory is moved aside before the new one goes in: when that second rename fails, the old
    one comes back rather than being lost in its hiding place."""
    from rmprof.errors import RmprofError
    from rmprof.run_dir import StagedRun

    final = tmp_path / "run"
    final.mkdir()
    (final / "old.txt").write_text("old\n", encoding="utf-8")
    real_replace = os.replace

    def replace(src: str | Path, dst: str | Path) -> None:
        if Path(dst) == final and ".partial-" in Path(src).name:  # the new one going in, not the old coming back
            raise OSError(18, "Invalid cross-device link")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(OSError), staged_dir(final) as new:
        (new / "new.txt").write_text("new\n", encoding="utf-8")
    assert _tree(final) == {"old.txt": "old\n"}
    assert [p.name for p in tmp_path.iterdir()] == ["run"]
    refused = pytest.raises(RmprofError, match="run: cannot move the finished run into place: Invalid cross-device")
    with refused, StagedRun(final, force=True) as staged:
        (staged.path / "results.json").write_text("{}\n", encoding="utf-8")
    assert _tree(final) == {"old.txt": "old\n"}
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def test_names_of_the_longest_legal_length_are_written_and_staged(tmp_path: Path) -> None:
    # A file name may take 255 bytes; the hidden temporary sibling (".NAME.partial-XXXXXXXX") must still fit,
    # or a legal --out or -o fails with "File name too long".
    name = "ü" * 127  # 254 bytes
    write_text_atomic(tmp_path / name, "x")
    assert (tmp_path / name).read_text() == "x"
    final = tmp_path / ("d" * 255)
    for _ in range(2):  # a new directory, then one replacing it (its old copy is moved aside first)
        with staged_dir(final) as new:
            (new / "results.json").write_text("{}")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([name, final.name])
    assert (final / "results.json").exists()


def test_the_default_run_dir_of_a_long_manifest_name_fits_a_file_name() -> None:
    from rmprof.files import fit_name
    from rmprof.profiling import default_out

    name = default_out("é" * 200).name  # the label is the manifest's file name, itself at most 255 bytes
    assert len(name.encode()) <= 255 and name.endswith("é" * 100)
    assert fit_name("aé", 2) == "a"  # cut at a character, never inside one
