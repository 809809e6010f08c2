"""README promises: the Space front matter is valid and the notebook example runs as written."""

import re
from pathlib import Path

import gradio
import pytest
from huggingface_hub import metadata_load
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _requirement(name: str) -> Requirement:
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line and Requirement(line).name == name:
            return Requirement(line)
    raise AssertionError(f"{name} is not in requirements.txt")


def test_space_front_matter_is_a_valid_gradio_space_config():
    meta = metadata_load(ROOT / "README.md")
    assert meta["sdk"] == "gradio"
    assert (ROOT / meta["app_file"]).is_file()
    assert meta["python_version"] == "3.11"
    assert len(meta["short_description"]) <= 60
    assert meta["sdk_version"] in _requirement("gradio").specifier
    assert meta["sdk_version"] == gradio.__version__  # what the tests ran against is what the Space runs


def test_quick_start_is_exactly_two_commands_and_ci_runs_the_second():
    block = re.search(r"## Quick start\s+```bash\n(.*?)```", README, re.S).group(1)
    commands = [line.split("  #")[0].strip() for line in block.splitlines() if line.strip()]
    assert len(commands) == 2
    assert commands[0].startswith("pip install -r requirements.txt") and "python app.py" in commands[0]
    assert commands[1] in (ROOT / ".ci" / "run").read_text()


@pytest.mark.slow
def test_the_notebook_example_runs_as_written():
    section = re.search(r"## In a notebook\n(.*?)\n## ", README, re.S).group(1)
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert len(blocks) == 3  # load/inspect/generate/figures, train/translate, then reading the model
    scope: dict = {}
    for code in blocks:  # one namespace, as in a notebook
        exec(compile(code, "README.md", "exec"), scope)  # noqa: S102 - our own README
    assert scope["result"].cache.pattern(0).shape[1] == len(scope["result"].tokens)
    assert scope["fig"].data and scope["out"].text.startswith("Once upon a time")
    assert scope["mine"].card["steps_done"] == 100 and scope["mine"].card["val_loss"] < 6.0
    assert scope["translate"]("The cat follows the dog.") == "猫跟着狗。"
    assert abs(float(scope["parts"].contributions.sum()) - scope["parts"].logit) < 1e-4
    before, after = scope["off"].loss_on(scope["repeated"])
    assert "induction" in scope["roles"].strongest[1] and after > before + 2.0
    assert f"# {scope['roles'].strongest}" in section  # the comment shows what the code returns
    assert f"({before:.3f}, {after:.3f})" in section


def test_the_module_table_names_every_module_and_only_real_ones():
    section = re.search(r"## How it is built\n(.*?)(\n## |\Z)", README, re.S).group(1)
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    top = {name for row in rows if not row.startswith("| `ui/`") for name in re.findall(r"`([\w/]+\.(?:py|c))`", row)}
    ui_row = next(row for row in rows if row.startswith("| `ui/`"))
    ui = set(re.findall(r"`(\w+\.py)`", ui_row))
    package = ROOT / "playground"
    assert top == {p.name for p in package.glob("*.py") if p.name != "__init__.py"} | {"kernels.c"}
    tabs = {p.name for p in (package / "ui").glob("*_tab.py")}  # "one module per tab"
    assert ui | tabs == {p.name for p in (package / "ui").glob("*.py") if p.name != "__init__.py"}


@pytest.mark.parametrize("doc", ["README.md", "docs/DESIGN.md"])
def test_every_relative_link_stays_inside_the_repository_and_exists(doc):
    text = (ROOT / doc).read_text(encoding="utf-8")
    links = [target for target in re.findall(r"\]\(([^)\s]+)\)", text) if not re.match(r"[a-z]+://|#|mailto:", target)]
    assert links or doc != "README.md"
    for target in links:
        path = ((ROOT / doc).parent / target.split("#")[0]).resolve()
        assert path.is_relative_to(ROOT), f"{doc} links outside the repository: {target}"
        assert path.exists(), f"{doc} links to a missing file: {target}"
