"""Table tests of triage: emergencies, questions about emergency services, negation, past events."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from config.settings import SHIPPED_DIR, ConfigError
from triage.catalog import load_catalog, unit_for
from triage.engine import triage
from triage.model import Example, combined
from triage.model import load as load_model
from triage.signals import normalise

CATALOG = load_catalog(SHIPPED_DIR / "dispatch.yaml")
MODEL = load_model(SHIPPED_DIR / "triage_model.json")


@pytest.mark.parametrize(("text", "lines"), [
    ("我家楼下着火了烟特别大", ("119",)),
    ("厨房里一股煤气味，好像漏气了", ("119",)),
    ("我爸突然倒地叫不醒了", ("120",)),
    ("孩子误喝了消毒液一直吐", ("120",)),
    ("有人拿着刀在小区里追人", ("110",)),
    ("我家孩子在公园找不到了", ("110",)),
    ("有个男的一直跟着我，我好害怕", ("110",)),
    ("两辆车追尾了，没人受伤", ("122",)),
    ("路口两辆车撞了，有人在流血", ("120", "122")),
    ("着火了，有个老人昏迷了", ("119", "120")),
    ("救命啊", ("110",)),            # only a cry for help: asked once, then put through to the police
    ("着火了", ("119",)),            # short, but the rules know these words
])
def test_emergencies_are_found(text: str, lines: tuple[str, ...]) -> None:
    r = triage(text, CATALOG)
    assert r.lines == lines and r.emergency == lines[0] and r.level == "2h", r.reasons
    with_model = triage(text, CATALOG, MODEL)  # as the hotline runs: the model may add a line, never drop these
    assert with_model.emergency == lines[0] and set(lines) <= set(with_model.lines), with_model.reasons


@pytest.mark.parametrize("text", [
    "120急救车出车怎么收费",
    "幺二零急救车出车怎么收费",   # as speech recognition writes the number
    "消防检查要什么材料",
    "昨天着火的事想咨询一下赔偿",
    "不是车祸 就是停着的车让人刮了一下 人早走了 想问保险",
    "上礼拜不是车祸 就是车刮了一下 想问保险怎么报",
    "楼道里堆了好多杂物有火灾隐患",
    "路口经常出车祸建议装个红绿灯",
    "上个月被偷了电动车现在想问进展",
    "燃气表没气了怎么充值",
    "交通事故责任认定书在哪里领",
])
def test_talk_about_emergencies_is_not_an_emergency(text: str) -> None:
    for model in (None, MODEL):
        r = triage(text, CATALOG, model)
        assert r.emergency is None, r.reasons


FIGURES = [
    "楼上天天扔杠铃 咣咣的跟爆炸似的",                     # a comparison
    "我这嗓子疼得跟着火了一样 想问社区医院几点开门",
    "商场门口写着爆炸价 进去一看根本不便宜",                 # a price
    "孩子天天在游戏里开车撞人 这种游戏谁管",                 # fiction
    "楼道里全是电动车 真着火了谁都跑不出去",                 # what if, without 如果
]
MODEL_STILL_ALARMS = {  # known false alarms of the shipped model (the rules alone are right)
    FIGURES[1]: "the pooled model reads a sore throat and a clinic as a medical emergency (120)",
    FIGURES[4]: "the model keeps 119 for the what-if (p 0.63); with 堆满了 it does not",
}


@pytest.mark.parametrize("text", FIGURES)
def test_the_rules_read_comparisons_fiction_and_what_ifs_as_no_emergency(text: str) -> None:
    assert triage(text, CATALOG).emergency is None, triage(text, CATALOG).reasons


@pytest.mark.parametrize("text", [pytest.param(t, marks=pytest.mark.xfail(strict=True, reason=MODEL_STILL_ALARMS[t]))
                                  if t in MODEL_STILL_ALARMS else t for t in FIGURES])
def test_comparisons_fiction_and_what_ifs_are_no_emergency(text: str) -> None:
    assert triage(text, CATALOG, MODEL).emergency is None, triage(text, CATALOG, MODEL).reasons


@pytest.mark.parametrize(("text", "line"), [("楼下真着火了 烟特别大", "119"), ("锅炉房真爆炸了 墙都塌了一块", "119")])
def test_the_same_words_said_of_an_event_are_an_emergency(text: str, line: str) -> None:
    for model in (None, MODEL):
        assert triage(text, CATALOG, model).emergency == line


@pytest.mark.parametrize("text", ["呃 那个 喂", "你好 我想问问", "人工 人工", "버스 요금이 얼마예요", "",
                                  "稍等啊 我翻翻那张单子", "哎 你好 这是一二三四五热线吧", "等会儿 我看看门牌号"])
def test_an_utterance_that_says_nothing_is_no_emergency(text: str) -> None:
    """Fillers, and words the model never saw (another script), fall back on the rules: without
    this the model would answer them with its prior, above the emergency threshold."""
    r = triage(text, CATALOG, MODEL)
    assert r.emergency is None, r.reasons


@pytest.mark.parametrize(("text", "category"), [
    ("请问居住证怎么办理", "咨询"),
    ("我要投诉楼下饭馆半夜太吵了", "投诉"),
    ("我要举报小区里有人私搭乱建", "举报"),
    ("建议增加一条到地铁站的公交线路", "建议"),
    ("家里停水了一天了，麻烦派人来看看", "求助"),
])
def test_request_type(text: str, category: str) -> None:
    assert triage(text, CATALOG).category == category
    assert triage(text, CATALOG, MODEL).category == category


def test_topic_unit_and_district() -> None:
    r = triage("朝阳区望京这边暖气一直不热", CATALOG)
    assert (r.topic, r.unit, r.district, r.level) == ("供暖", "朝阳区城市管理委员会", "朝阳区", "24h")
    assert any("暖气" in x for x in r.reasons)
    r = triage("暖气一直不热", CATALOG)
    assert r.unit == "北京市城市管理委员会"  # no district named: the city-level unit


def test_unknown_unit_but_known_district_goes_to_the_district_government() -> None:
    assert unit_for(None, "海淀区") == "海淀区人民政府"  # 第十二条(二)
    assert triage("海淀区这边有件事想反映一下", CATALOG).unit == "海淀区人民政府"


@pytest.mark.parametrize(("text", "key", "reason"), [
    ("topics: []\ndistricts: [朝阳区]\n", "topics", "expected a list of topics"),
    ("districts: [朝阳区]\ntopics: [{name: a, keywords: [x], unit: u, level: 3d}]\n", "topics[0].level", "must be one of"),
    ("districts: [朝阳区]\ntopics: [{name: a, keywords: [x], unit: '{district}局', level: 7d}]\n", "topics[0].city_unit",
     "needed"),
    ("districts: [朝阳区]\ntopics: [{name: a, keywords: [], unit: u, level: 7d}]\n", "topics[0].keywords", "non-empty"),
    ("districts: [朝阳区]\ncolour: red\ntopics: [{name: a, keywords: [x], unit: u, level: 7d}]\n", "colour",
     "unknown key"),
])
def test_bad_catalog_names_key_and_reason(tmp_path: Path, text: str, key: str, reason: str) -> None:
    f = tmp_path / "dispatch.yaml"
    f.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_catalog(f)
    assert err.value.key == key and reason in err.value.reason


def test_the_model_catches_wordings_the_rules_do_not_list() -> None:
    model = MODEL
    assert model is not None
    text = "我老伴说话含糊不清一边手抬不起来"  # stroke signs, none of the rule words
    assert triage(text, CATALOG).emergency is None
    r = triage(text, CATALOG, model)
    assert r.emergency == "120" and any(x.startswith("model:") for x in r.reasons)
    assert triage("120急救车出车怎么收费", CATALOG, model).emergency is None


@pytest.mark.parametrize("text", [
    "我早上没刹住 一下顶上前车了 两边司机都在路口站着呢 这怎么处理啊",
    "前边车一脚刹车 我就怼上去了 人都没事 现在在东三环 这咋弄",
])
def test_a_minor_collision_told_as_a_question_is_for_122(text: str) -> None:
    """No rule word (追尾, 撞), nobody hurt, and the caller asks what to do: still a collision now."""
    assert triage(text, CATALOG).emergency is None
    assert triage(text, CATALOG, MODEL).emergency == "122"


@pytest.mark.parametrize(("text", "line"), [
    ("喂 是幺二三四五吧 我本来想问问这个月燃气费咋这么贵 哎不对 我爸刚才歪在沙发上 叫他没反应 嘴角还流口水", "120"),
    ("你好 我想投诉楼上装修太吵 等会儿 楼道里一股焦糊味儿 对门门缝往外冒黑烟 敲门没人应", "119"),
    ("那个 我之前打过电话说暖气不热的事 先不说这个了 楼下有个男的拿砖头砸一个女的脑袋", "110"),
])
def test_an_emergency_told_after_another_matter_is_found(text: str, line: str) -> None:
    """A caller who first speaks of something else (a bill, noise, an earlier call): the words
    of that other matter must not outweigh the emergency told after it."""
    r = triage(text, CATALOG, MODEL)
    assert line in r.lines, r.reasons


def test_training_makes_long_calls_from_openers_and_calls() -> None:
    """Pure: each long call is an opener or a calm request, then a call; an emergency keeps its
    lines and loses its type (two matters), a call with no emergency keeps its type."""
    opener = Example("你好是热线吧", frozenset(), None)
    calm = Example("居住证怎么办理要带什么", frozenset(), "咨询")
    fire = Example("楼下着火了烟很大", frozenset({"119"}), "举报")
    made = combined([opener, calm, fire], seed=1)
    assert made and all(x.text.startswith((opener.text, calm.text)) for x in made)
    assert {(x.text[-len(fire.text):] == fire.text, x.lines, x.category) for x in made} <= {
        (True, fire.lines, None), (False, frozenset(), "咨询")}
    assert any(x.lines for x in made) and any(not x.lines for x in made)
    assert combined([calm, fire], seed=1) == []  # no opener: nothing made


def test_the_line_the_model_is_surest_of_is_rung_first() -> None:
    """A child being beaten: the police. A doubtful 119 beside it must not be the line dialled."""
    r = triage("隔壁那家大人一直在打孩子 孩子哭得嗓子都哑了 现在还在打 啪啪的", CATALOG, MODEL)
    assert r.emergency == "110"


@pytest.mark.parametrize("text", [
    "刚才在路口跟人车刮了一下 对方让我走保险 这咋弄",
    "我的车刚让一辆出租车给蹭了 人没事 俩车都在路边呢 想问保险怎么报",
])
def test_a_scrape_just_now_is_offered_122_though_asked_about_insurance(text: str) -> None:
    """The labelling guide: a collision now is for 122 even without injury (Beijing settles
    scrapes through 122's 快处快赔). The caller hears one confirmation question first. Told as
    over (上礼拜) or with nobody there, it is a consultation (test above). Told with neither time
    nor place (不是车祸就是车刮了一下想问保险) it is borderline: p 0.018-0.022 against a threshold
    of 0.02 on the last two models."""
    assert triage(text, CATALOG, MODEL).emergency == "122"


HELD_OUT = sorted(p.name for p in (SHIPPED_DIR.parent / "bench" / "data").glob("triage_holdout*.yaml"))


def test_the_held_out_sets_are_there() -> None:
    assert len(HELD_OUT) == 15


@pytest.mark.parametrize("name", HELD_OUT)
def test_no_emergency_of_the_held_out_sets_is_missed(name: str) -> None:
    """Guard for retraining: the shipped model finds every emergency of the held-out sets
    (never trained on); bench/understanding.py reports the rest of the figures."""
    items = yaml.safe_load((SHIPPED_DIR.parent / "bench" / "data" / name).read_text(encoding="utf-8"))["items"]
    missed = [i["text"] for i in items if i["emergency"] and triage(i["text"], CATALOG, MODEL).emergency is None]
    assert not missed


@pytest.mark.parametrize("name", HELD_OUT)
def test_few_false_alarms_on_the_held_out_sets(name: str) -> None:
    """Guard for retraining: of the callers the shipped model would put through to an emergency
    line (after one confirmation question), at least 95 % have one."""
    items = yaml.safe_load((SHIPPED_DIR.parent / "bench" / "data" / name).read_text(encoding="utf-8"))["items"]
    alarms = [i for i in items if triage(i["text"], CATALOG, MODEL).emergency is not None]
    false = [i["text"] for i in alarms if not i["emergency"]]
    assert len(false) <= 0.05 * len(alarms), false


@pytest.mark.parametrize(("spoken", "written"), [
    ("打幺幺零", "打110"), ("一一九来了吗", "119来了吗"), ("幺二零的车", "120的车"), ("一二二处理的", "122处理的"),
    ("一二零八号", "一二零八号"), ("三一一九", "三一一九"), ("一一二", "一一二"),
])
def test_emergency_numbers_said_aloud_read_as_digits(spoken: str, written: str) -> None:
    assert normalise(spoken) == written
