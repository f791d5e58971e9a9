"""The UI-format workflows in ``workflows/`` (what ComfyUI's template browser lists and its frontend loads).

Layout read from ComfyUI's frontend format (``"version": 0.4``) and real saved workflows: ``links`` rows are
``[id, from_node, from_slot, to_node, to_slot, type]``; ``to_slot`` indexes the target's ``inputs`` list, where a
widget fed by a link appears as ``{"name", "type", "widget": {"name"}, "link"}``; ``widgets_values`` holds every
widget's value by position (a linked widget keeps its slot; a ``seed`` INT widget is followed by its hidden
"control_after_generate" value).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UI_WORKFLOWS = sorted((ROOT / "workflows").glob("*.json"))
WIDGET_TYPES = {"INT", "FLOAT", "STRING", "BOOLEAN"}
CONTROL_AFTER_GENERATE = {"fixed", "increment", "decrement", "randomize"}

# Core nodes the workflows use, as ComfyUI declares them (nodes.py LoadImage; comfy_extras/nodes_audio.py
# LoadAudio; comfy_extras/nodes_video.py LoadVideo, GetVideoComponents, CreateVideo, SaveVideo): inputs (name →
# type; "COMBO" for a list widget), outputs, and the widget values the frontend stores (the upload widgets of
# the loaders add hidden values: LoadImage/LoadVideo "image", LoadAudio two nulls).
CORE = {
    "LoadImage": {"inputs": {"image": "COMBO"}, "outputs": ("IMAGE", "MASK"), "widgets": ["image", "*upload"]},
    "LoadAudio": {"inputs": {"audio": "COMBO"}, "outputs": ("AUDIO",), "widgets": ["audio", "*ui", "*upload"]},
    "LoadVideo": {"inputs": {"file": "COMBO"}, "outputs": ("VIDEO",), "widgets": ["file", "*upload"]},
    "GetVideoComponents": {"inputs": {"video": "VIDEO"}, "outputs": ("IMAGE", "AUDIO", "FLOAT"), "widgets": []},
    "CreateVideo": {
        "inputs": {"images": "IMAGE", "fps": "FLOAT", "audio": "AUDIO"},
        "outputs": ("VIDEO",),
        "widgets": ["fps"],
    },
    "SaveVideo": {
        "inputs": {"video": "VIDEO", "filename_prefix": "STRING", "format": "COMBO", "codec": "COMBO"},
        "outputs": (),
        "widgets": ["filename_prefix", "format", "codec"],
    },
    "Note": {"inputs": {}, "outputs": (), "widgets": ["text"]},
}
CORE_COMBOS = {("SaveVideo", "format"): {"auto", "mp4"}, ("SaveVideo", "codec"): {"auto", "h264"}}


def load(path: Path) -> dict:
    return json.loads(path.read_text())


def declared_inputs(node_class) -> dict:
    spec = node_class.INPUT_TYPES()
    return {**spec["required"], **spec.get("optional", {})}


def input_type(entry) -> str:
    return "COMBO" if isinstance(entry[0], list) else entry[0]


def widget_names(node_class) -> list[str]:
    """Our node's widgets in the order ComfyUI stores them, ``control_after_generate`` after every seed."""
    names = []
    for name, entry in declared_inputs(node_class).items():
        kind = input_type(entry)
        if kind == "COMBO" or kind in WIDGET_TYPES:
            names.append(name)
            if name == "seed" and kind == "INT":
                names.append("control_after_generate")
    return names


def node_io(node: dict, nodes: dict) -> tuple[dict, tuple, list]:
    """(input name → declared type, output types, widget names) of a UI node, ours or core."""
    if node["type"] in nodes:
        node_class = nodes[node["type"]]
        inputs = {name: input_type(entry) for name, entry in declared_inputs(node_class).items()}
        return inputs, tuple(node_class.RETURN_TYPES), widget_names(node_class)
    core = CORE[node["type"]]
    return core["inputs"], core["outputs"], core["widgets"]


@pytest.fixture
def nodes(pack):
    return pack.NODE_CLASS_MAPPINGS


def test_each_api_workflow_has_a_ui_twin_and_a_small_thumbnail():
    api = {path.stem for path in (ROOT / "workflows" / "api").glob("*.json")}
    assert (
        {path.stem for path in UI_WORKFLOWS}
        == api
        == {
            "portrait_emotion_label",
            "portrait_expression_editor",
            "staged_portrait",
            "reference_video_emotion",
            "dub_video_emotion_text",
        }
    )
    for path in UI_WORKFLOWS:
        thumbnail = path.with_suffix(".jpg")  # ComfyUI's template browser shows <name>.jpg beside <name>.json
        assert thumbnail.is_file(), thumbnail
        assert thumbnail.read_bytes()[:3] == b"\xff\xd8\xff", f"{thumbnail} is not a JPEG"
        assert thumbnail.stat().st_size < 100_000
        screenshot = ROOT / "docs" / "images" / f"workflow_{path.stem}.png"
        assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and screenshot.stat().st_size < 200_000


@pytest.mark.parametrize("path", UI_WORKFLOWS, ids=lambda path: path.stem)
def test_ui_workflow_structure(path):
    workflow = load(path)
    assert workflow["version"] == 0.4
    for key in ("nodes", "links", "groups", "config", "extra"):
        assert key in workflow, key
    ids = [node["id"] for node in workflow["nodes"]]
    assert len(ids) == len(set(ids))
    assert workflow["last_node_id"] == max(ids)
    assert workflow["last_link_id"] == max(link[0] for link in workflow["links"])
    assert len({link[0] for link in workflow["links"]}) == len(workflow["links"])
    orders = sorted(node["order"] for node in workflow["nodes"])
    assert orders == list(range(len(ids)))
    for node in workflow["nodes"]:
        assert {
            "id",
            "type",
            "pos",
            "size",
            "flags",
            "order",
            "mode",
            "inputs",
            "outputs",
            "properties",
            "widgets_values",
        } <= set(node), node["id"]
        assert node["properties"]["Node name for S&R"] == node["type"]
        assert len(node["pos"]) == 2 and len(node["size"]) == 2 and min(node["size"]) > 0
    notes = [node for node in workflow["nodes"] if node["type"] == "Note"]
    assert len(notes) == 1
    text = notes[0]["widgets_values"][0]
    assert "eadnet-mini" in text and "MODEL_CARD.md" in text and "models/eadnet" in text
    assert "'offline-demo' is UNTRAINED" in text
    assert "eadnet/assets/portrait.png" in text


def test_nodes_do_not_overlap():
    for path in UI_WORKFLOWS:
        boxes = [
            (n["pos"][0], n["pos"][1], n["pos"][0] + n["size"][0], n["pos"][1] + n["size"][1], n["id"])
            for n in load(path)["nodes"]
        ]
        for i, a in enumerate(boxes):
            for b in boxes[i + 1 :]:
                overlap = a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]
                assert not overlap, (path.stem, a[4], b[4])


@pytest.mark.parametrize("path", UI_WORKFLOWS, ids=lambda path: path.stem)
def test_ui_links_agree_with_declared_types(path, nodes):
    workflow = load(path)
    by_id = {node["id"]: node for node in workflow["nodes"]}
    for node in workflow["nodes"]:
        assert node["type"] in nodes or node["type"] in CORE, f"unknown node type {node['type']}"
    seen_inputs, seen_outputs = {}, {}
    for link_id, src, src_slot, dst, dst_slot, kind in workflow["links"]:
        source, target = by_id[src], by_id[dst]
        _, outputs, _ = node_io(source, nodes)
        inputs, _, _ = node_io(target, nodes)
        assert outputs[src_slot] == kind, (path.stem, link_id, "source slot type")
        assert source["outputs"][src_slot]["type"] == kind
        assert link_id in source["outputs"][src_slot]["links"]
        slot = target["inputs"][dst_slot]
        assert slot["link"] == link_id, (path.stem, link_id)
        assert inputs[slot["name"]] == kind == slot["type"], (path.stem, link_id, slot["name"])
        seen_inputs[(dst, dst_slot)] = link_id
        seen_outputs.setdefault((src, src_slot), set()).add(link_id)
    # The other direction: every slot that names a link has that link in the table.
    for node in workflow["nodes"]:
        for index, slot in enumerate(node["inputs"]):
            if slot["link"] is not None:
                assert seen_inputs.get((node["id"], index)) == slot["link"], (node["id"], slot["name"])
            elif node["type"] in nodes:
                assert slot["name"] not in nodes[node["type"]].INPUT_TYPES()["required"], (
                    f"required input {slot['name']} of node {node['id']} is not connected"
                )
        for index, slot in enumerate(node["outputs"]):
            assert set(slot["links"] or ()) == seen_outputs.get((node["id"], index), set())
    # Every required socket (non-widget input) of our nodes is connected.
    for node in workflow["nodes"]:
        if node["type"] not in nodes:
            continue
        connected = {slot["name"] for slot in node["inputs"] if slot["link"] is not None}
        for name, entry in nodes[node["type"]].INPUT_TYPES()["required"].items():
            if not (input_type(entry) == "COMBO" or input_type(entry) in WIDGET_TYPES):
                assert name in connected, (path.stem, node["id"], name)


@pytest.mark.parametrize("path", UI_WORKFLOWS, ids=lambda path: path.stem)
def test_widgets_values_follow_widget_order(path, nodes):
    for node in load(path)["nodes"]:
        inputs, _, names = node_io(node, nodes)
        values = node["widgets_values"]
        assert len(values) == len(names), (path.stem, node["id"], node["type"], values, names)
        widget_slots = [slot for slot in node["inputs"] if "widget" in slot]
        for slot in widget_slots:  # a linked widget is a socket named after its widget
            assert slot["widget"]["name"] == slot["name"] and slot["name"] in names
        if node["type"] not in nodes:
            for name, value in zip(names, values, strict=True):
                if (node["type"], name) in CORE_COMBOS:
                    assert value in CORE_COMBOS[node["type"], name], (node["id"], name, value)
            continue
        declared = declared_inputs(nodes[node["type"]])
        for name, value in zip(names, values, strict=True):
            if name == "control_after_generate":
                assert value in CONTROL_AFTER_GENERATE, (node["id"], value)
                continue
            kind = declared[name][0]
            options = declared[name][1] if len(declared[name]) > 1 else {}
            if isinstance(kind, list):
                assert value in kind, (path.stem, node["id"], name, value)
            elif kind == "INT":
                assert isinstance(value, int) and not isinstance(value, bool), (node["id"], name, value)
                assert options.get("min", value) <= value <= options.get("max", value), (node["id"], name)
            elif kind == "FLOAT":
                assert isinstance(value, (int, float)) and not isinstance(value, bool), (node["id"], name)
                assert options.get("min", value) <= value <= options.get("max", value), (node["id"], name)
            elif kind == "STRING":
                assert isinstance(value, str), (node["id"], name, value)
            elif kind == "BOOLEAN":
                assert isinstance(value, bool), (node["id"], name, value)


@pytest.mark.parametrize("path", UI_WORKFLOWS, ids=lambda path: path.stem)
def test_ui_workflow_matches_its_api_twin(path, nodes):
    """Same nodes (ids and types), same links, same widget values as the API prompt the executor tests run."""
    ui = load(path)
    api = load(ROOT / "workflows" / "api" / path.name)
    ui_nodes = {str(node["id"]): node for node in ui["nodes"] if node["type"] != "Note"}
    assert {node_id: node["type"] for node_id, node in ui_nodes.items()} == {
        node_id: entry["class_type"] for node_id, entry in api.items()
    }
    by_id = {node["id"]: node for node in ui["nodes"]}
    for node_id, entry in api.items():
        node = ui_nodes[node_id]
        _, _, names = node_io(node, nodes)
        widgets = dict(zip(names, node["widgets_values"], strict=True))
        linked = {}
        for _link_id, src, src_slot, dst, dst_slot, _ in ui["links"]:
            if dst == node["id"]:
                linked[by_id[dst]["inputs"][dst_slot]["name"]] = [str(src), src_slot]
        api_links = {name: value for name, value in entry["inputs"].items() if isinstance(value, list)}
        assert linked == {name: [str(value[0]), value[1]] for name, value in api_links.items()}, node_id
        for name, value in entry["inputs"].items():
            if not isinstance(value, list):
                assert widgets[name] == value, (path.stem, node_id, name)
        if node["type"] in nodes:  # every required widget of ours is spelled out in the API prompt too
            required = set(nodes[node["type"]].INPUT_TYPES()["required"])
            api_widgets = {name for name in names if name in required}
            assert api_widgets - set(api_links) <= set(entry["inputs"]), node_id


def test_sampler_widget_order_is_the_public_one(nodes):
    """The widget order the checks above derive from INPUT_TYPES is the published one (seed + its control)."""
    path = ROOT / "workflows" / "staged_portrait.json"
    sampler = next(node for node in load(path)["nodes"] if node["type"] == "EADNet_Sampler")
    names = widget_names(nodes["EADNet_Sampler"])
    assert names == [
        "steps",
        "audio_guidance",
        "text_guidance",
        "seed",
        "control_after_generate",
        "window",
        "overlap",
        "emotion_warp",
        "cache_interval",
        "cache_text_guidance",
    ]
    values = dict(zip(names, sampler["widgets_values"], strict=True))
    assert values["control_after_generate"] == "fixed" and isinstance(values["seed"], int)
