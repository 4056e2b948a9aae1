"""The one child protocol (rmprof/child_protocol.py): its parent side against stand-in children that fail, crash,
overrun or answer garbage, its child side, and rmprof's three children (bench child, bench worker, profiled
loop) answering through it. Expected messages are written out by hand."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from rmprof import child_protocol
from rmprof.child_protocol import ChildCommand, WrongOutput, module_command, run_child, start_child
from rmprof.errors import ChildFailed, RmprofError
from rmprof.runtimes import get_runtime
from rmprof.runtimes.rounds import CHILD_CWD
from rmprof.scenarios import get_scenario

PY = Path(sys.executable).name


def stand_in(tmp_path: Path, code: str) -> ChildCommand:
    """A child running ``code`` as ``kid.py``, with a request (so ``--request FILE`` follows it)."""
    script = tmp_path / "kid.py"
    script.write_text(code, encoding="utf-8")
    return ChildCommand([sys.executable, str(script)], {"anything": 1})


# ---------------------------------------------------------------------------------------------------------
# Parent side


def test_a_child_failing_with_exit_2_is_one_line_naming_the_child_without_the_prefix(tmp_path: Path) -> None:
    code = "import sys\nprint('loading', file=sys.stderr)\nprint('rmprof child: node x failed', file=sys.stderr)\n"
    with pytest.raises(ChildFailed) as caught:
        run_child("bench worker for python", stand_in(tmp_path, code + "sys.exit(2)\n"), timeout=60)
    assert caught.value.message == (
        f"bench worker for python ({PY} kid.py --request request.json) exited with 2: node x failed"
    )


def test_a_child_killed_by_a_signal_says_which_and_its_last_line(tmp_path: Path) -> None:
    code = "import os, sys\nprint('warming up', file=sys.stderr, flush=True)\nos.kill(os.getpid(), 11)\n"
    with pytest.raises(ChildFailed) as caught:
        run_child("peak-RSS child", stand_in(tmp_path, code), timeout=60)
    assert (
        caught.value.message == f"peak-RSS child ({PY} kid.py --request request.json) was killed by SIGSEGV: warming up"
    )


def test_a_child_overrunning_its_timeout_is_killed_and_said_so(tmp_path: Path) -> None:
    code = "import sys, time\nprint('started', file=sys.stderr, flush=True)\ntime.sleep(60)\n"
    with pytest.raises(ChildFailed) as caught:
        run_child("cold-start child", stand_in(tmp_path, code), timeout=0.5)
    assert caught.value.message == (
        f"cold-start child ({PY} kid.py --request request.json) did not finish within 0.5 s: started"
    )


@pytest.mark.parametrize(
    ("stdout", "said"),
    [("print('not json')\n", "not json"), ("print('[1, 2]')\n", "[1, 2]"), ("pass\n", "(no output)")],
)
def test_an_answer_that_is_no_json_object_is_a_failure(stdout: str, said: str, tmp_path: Path) -> None:
    with pytest.raises(ChildFailed) as caught:
        run_child("peak-RSS child", stand_in(tmp_path, stdout), timeout=60)
    assert caught.value.message == (
        f"peak-RSS child ({PY} kid.py --request request.json) exited with 0 without a JSON answer: {said}"
    )


def test_the_answer_is_the_last_stdout_line_and_earlier_lines_are_marks(tmp_path: Path) -> None:
    code = (
        "import json, sys; assert sys.argv[1] == '--request'; req = json.load(open(sys.argv[2]));"
        "print(json.dumps({'first': 1})); print(json.dumps({'echo': req}))"
    )
    with start_child("cold-start child", [sys.executable, "-c", code], {"x": [1, "a"]}) as child:
        request_file = Path(child.argv[-1])
        assert child.argv[-2] == "--request" and request_file.is_file()
        assert json.loads(child.readline()) == {"first": 1}
        assert child.finish(timeout=60) == {"echo": {"x": [1, "a"]}}
    assert not request_file.exists()  # the request lives as long as its child


def test_a_child_still_running_when_the_block_ends_is_killed() -> None:
    sleeper = [sys.executable, "-c", "import time; time.sleep(60)"]
    with pytest.raises(KeyboardInterrupt), start_child("bench worker", sleeper) as child:
        proc = child.proc
        raise KeyboardInterrupt
    assert proc.returncode is not None and proc.returncode < 0


def test_a_child_that_cannot_start_is_a_failure_naming_it(tmp_path: Path) -> None:
    with pytest.raises(ChildFailed) as caught:
        run_child("cold-start child", ChildCommand([str(tmp_path / "absent")]), timeout=60)
    assert caught.value.message.startswith("cold-start child could not be started: ")


# ---------------------------------------------------------------------------------------------------------
# Child side


def test_the_request_is_read_from_the_file_named_by_its_flag(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    path.write_text('{"iterations": 3}', encoding="utf-8")
    assert child_protocol.read_request(["--request", str(path)]) == {"iterations": 3}
    for argv, says in [
        ([], "usage: "),
        (["--report", str(path)], "usage: "),
        (["--request", str(tmp_path / "absent.json")], "cannot read"),
    ]:
        with pytest.raises(RmprofError, match=says):
            child_protocol.read_request(argv)
    path.write_text("[3]", encoding="utf-8")
    with pytest.raises(RmprofError, match="not a JSON object"):
        child_protocol.read_request(["--request", str(path)])


def test_request_fields_are_checked_by_type() -> None:
    request = {"n": 3, "flag": True, "s": "x", "none": None}
    assert child_protocol.field(request, "n", int) == 3
    assert child_protocol.field(request, "none", int, 7) == 7
    assert child_protocol.field(request, "absent", str, None) is None
    with pytest.raises(RmprofError, match="^request: 'absent' is missing$"):
        child_protocol.field(request, "absent", int)
    with pytest.raises(RmprofError, match="^request: 'flag' must be an integer, not bool$"):
        child_protocol.field(request, "flag", int)
    with pytest.raises(RmprofError, match="^request: 's' must be an integer or a number, not str$"):
        child_protocol.field(request, "s", (int, float))


def test_a_child_stops_with_one_line_and_the_code_of_its_reason(capsys: pytest.CaptureFixture[str]) -> None:
    assert child_protocol.fail(RmprofError("node x failed\nat item 2")) == 2
    assert child_protocol.fail(WrongOutput("wrong output on python: sink: 1 item instead of 2")) == 3
    assert child_protocol.fail("usage: x") == 2
    assert capsys.readouterr().err == (
        "rmprof child: node x failed at item 2\n"
        "rmprof child: wrong output on python: sink: 1 item instead of 2\n"
        "rmprof child: usage: x\n"
    )


def test_the_answer_goes_to_the_answer_file_when_the_request_names_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    answer_file = tmp_path / "answer.json"
    assert child_protocol.answer({"answer_file": str(answer_file)}, {"n": 1}) == 0
    assert json.loads(answer_file.read_text(encoding="utf-8")) == {"n": 1}
    assert child_protocol.answer({}, {"n": 2}) == 0
    assert capsys.readouterr().out == '{"n": 2}\n'
    unwritable = {"answer_file": str(tmp_path / "absent-dir" / "deeper" / "a.json")}
    (tmp_path / "absent-dir").write_text("a file, not a folder", encoding="utf-8")
    assert child_protocol.answer(unwritable, {"n": 3}) == 2
    assert capsys.readouterr().err.startswith("rmprof child: cannot write the answer ")


# ---------------------------------------------------------------------------------------------------------
# rmprof's three children


def test_the_bench_child_marks_its_first_output_and_answers_its_peak_rss() -> None:
    sc = get_scenario("simple")
    first_expected = json.loads(sc.expected_path.read_text(encoding="utf-8"))["sink"][0]
    command = get_runtime("python").process_command(sc.manifest_path, sc.input_path, 2)
    assert command.argv[1:] == ["-m", "rmprof.bench.child"]
    with start_child("cold-start child", command.argv, command.request, cwd=CHILD_CWD) as child:
        assert json.loads(child.readline()) == {"first": first_expected}
        answer = child.finish(timeout=120)
    assert set(answer) == {"peak_rss_bytes"} and answer["peak_rss_bytes"] > 1_000_000


def test_the_bench_child_fails_on_bad_input_with_exit_2_and_one_line(tmp_path: Path) -> None:
    sc = get_scenario("simple")
    absent = tmp_path / "absent.json"
    command = get_runtime("python").process_command(sc.manifest_path, absent, 1)
    with pytest.raises(ChildFailed) as caught:
        run_child("cold-start child", command, timeout=120, cwd=CHILD_CWD)
    assert caught.value.message == (
        f"cold-start child ({PY} -m rmprof.bench.child --request request.json) exited with 2: {absent}: no such file"
    )


def test_the_bench_worker_answers_a_round_and_fails_with_exit_2(tmp_path: Path) -> None:
    sc = get_scenario("simple")
    request = {"manifest": str(sc.manifest_path), "input": str(sc.input_path), "runtimes": ["python"], "samples": 2}
    answer = run_child("bench worker", module_command("rmprof.bench.worker", request), timeout=300, cwd=CHILD_CWD)
    assert len(answer["run_ns"]["python"]) == 2 and all(x > 0 for x in answer["run_ns"]["python"])
    assert answer["inner"]["python"] >= 1
    absent = tmp_path / "absent.json"
    with pytest.raises(ChildFailed) as caught:
        bad = {**request, "input": str(absent)}
        run_child("bench worker for python", module_command("rmprof.bench.worker", bad), timeout=300, cwd=CHILD_CWD)
    assert caught.value.message.endswith(f" exited with 2: {absent}: no such file")
    with pytest.raises(ChildFailed) as caught:
        run_child("bench worker", module_command("rmprof.bench.worker", {"samples": 1}), timeout=300, cwd=CHILD_CWD)
    assert caught.value.message.endswith(" exited with 2: request: 'manifest' is missing")


def _profiled_loop(tmp_path: Path, request: dict[str, object]) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "request.json"
    path.write_text(json.dumps(request), encoding="utf-8")
    cmd = [sys.executable, "-m", "rmprof.profilers.profiled_loop", "--request", str(path)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=CHILD_CWD)


def test_the_profiled_loop_answers_in_its_answer_file_and_says_why_it_stops(tmp_path: Path) -> None:
    sc = get_scenario("simple")
    answer_file = tmp_path / "answer.json"
    request = {
        "manifest": str(sc.manifest_path),
        "input": str(sc.input_path),
        "runtime": "python",
        "expected": str(sc.expected_path),
        "iterations": 3,
        "answer_file": str(answer_file),
    }
    done = _profiled_loop(tmp_path, request)
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""  # the answer is in the file: stdout is the tools'
    answer = json.loads(answer_file.read_text(encoding="utf-8"))
    assert (answer["runtime"], answer["iterations"], answer["correct"]) == ("python", 3, True)

    wrong = tmp_path / "wrong.json"
    wrong.write_text('{"sink": [1]}', encoding="utf-8")
    answer_file.unlink()
    done = _profiled_loop(tmp_path, {**request, "expected": str(wrong)})
    assert done.returncode == 3
    assert done.stderr == "rmprof child: wrong output on python: sink: 100 items instead of 1\n"
    assert not answer_file.exists()

    for bad, says in [
        ({**request, "iterations": 0}, "request: 'iterations' must be at least 1, not 0"),
        ({**request, "seconds": 1.0}, "request: give one of 'iterations' and 'seconds'"),
        ({k: v for k, v in request.items() if k != "runtime"}, "request: 'runtime' is missing"),
    ]:
        done = _profiled_loop(tmp_path, bad)
        assert (done.returncode, done.stderr) == (2, f"rmprof child: {says}\n")
