"""The 承接 work pages through AppTest on real databases: 企业管理, 项目库, 进度, samples and undo on 数据导入."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_app import (  # noqa: F401  (fixtures re-used)
    assert_clean,
    download_bytes,
    downloads,
    feedback_controls,
    mark,
    own_db,
    sample_db,
    start,
    workbook,
)

from matcher.ingest.importer import import_file
from matcher.ingest.samples import load_samples
from matcher.knowledge import kb
from matcher.store.audit import entries
from matcher.store.database import Store
from matcher.work import firms, projects


@pytest.fixture
def small_db(tmp_path: Path) -> Path:
    """A database with the knowledge base and three firms (one traditional-script name), no indexes."""
    path = tmp_path / "w.db"
    csv = tmp_path / "f.csv"
    csv.write_text("企业名称,所在地区,主营业务\n陝西華晶電子有限公司,西安市雁塔区,半导体材料\n甲光伏有限公司,西安,光伏组件\n"
                   "甲光伏（西安）有限公司,,光伏组件\n", encoding="utf-8")
    store = kb.open_store(path)
    import_file(store, csv)
    store.close()
    return path


def test_firms_page_finds_edits_and_merges(small_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = start(small_db, monkeypatch, "企业管理")
    at.text_input(key="firms_query").input("华晶").run()
    table = at.dataframe[0].value
    assert list(table["企业名称"]) == ["陝西華晶電子有限公司"]
    at.text_input(key="fe_1_region").input("咸阳")
    at.button(key="FormSubmitter:firm_edit_1-保存修改").click().run()
    assert_clean(at)
    assert Store(small_db).firm(1)["region"] == "咸阳"
    history = at.dataframe[-1].value
    assert history.iloc[0]["操作"] == "修改企业" and "所在地区：西安" in history.iloc[0]["改前"]
    at.text_input(key="firms_query").input("甲光伏").run()
    at.selectbox(key="firms_pick").set_value(2).run()
    at.selectbox(key="firms_drop_2").set_value(3).run()
    at.button(key="firms_merge_2").click().run()
    assert_clean(at)
    assert Store(small_db).firm(3) is None and entries(Store(small_db), action="合并企业")


def test_import_page_undoes_an_import_and_removes_samples(small_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = Store(small_db)
    load_samples(store)
    n = firms.sample_count(store)
    at = start(small_db, monkeypatch, "数据导入")
    assert any("演示数据库" in w.value for w in at.sidebar.warning)
    at.button(key="samples_remove").click().run()
    assert_clean(at)
    assert firms.sample_count(store) == 0 and store.count_firms() == 3 and n > 300
    at = start(small_db, monkeypatch, "数据导入")
    assert not any("演示数据库" in w.value for w in at.sidebar.warning)
    at.selectbox(key="undo_run").set_value(1).run()
    at.button(key="undo_confirm").click().run()
    assert_clean(at)
    assert store.count_firms() == 0


def charts(at: object) -> list[object]:
    """The Vega-Lite (altair) charts on a page."""
    return list(at.get("vega_lite_chart"))  # type: ignore[attr-defined]


def test_projects_page_adds_and_moves_and_progress_changes(small_db: Path, downloads: dict[str, bytes],  # noqa: F811
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    at = start(small_db, monkeypatch, "项目库")
    at.text_input(key="pa_name").input("光伏组件扩产项目")
    at.selectbox(key="pa_kind").set_value("主城产业溢出")
    at.selectbox(key="pa_city").set_value("沣西新城")
    at.number_input(key="pa_money").set_value(8.0)
    at.button(key="FormSubmitter:project_add-新建项目").click().run()
    assert_clean(at)
    assert at.dataframe[0].value.iloc[0]["项目名称"] == "光伏组件扩产项目"
    assert list(at.dataframe[0].value.columns[:3]) == ["项目名称", "阶段", "落地新城"]

    def done(page: object) -> float:
        table = next(t.value for t in page.dataframe if "完成率" in t.value.columns)
        return float(table[table["目标"] == "承接主城区产业溢出项目"]["完成"].iloc[0])

    prog = start(small_db, monkeypatch, "进度")
    assert done(prog) == 0 and charts(prog)
    at.selectbox(key="pm_stage").set_value("签约")
    at.button(key="FormSubmitter:project_move-变更阶段").click().run()
    assert_clean(at)
    assert projects.list_projects(Store(small_db))[0]["stage"] == "签约"
    prog = start(small_db, monkeypatch, "进度")
    assert done(prog) == 1
    wb = workbook(download_bytes(prog, downloads, "进度月报"))
    assert "目标进度" in wb.sheetnames


def test_events_page_plans_downloads_and_records(own_db: Path, downloads: dict[str, bytes],  # noqa: F811
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    at = start(own_db, monkeypatch, "洽谈会")
    at.multiselect(key="ev_chains").set_value(["太阳能光伏", "氢能"])
    at.number_input(key="ev_slots").set_value(3)
    at.number_input(key="ev_tables").set_value(4)
    at.button(key="FormSubmitter:event_plan-生成邀请名单和对接日程").click().run()
    assert_clean(at)
    assert any("指派求解" in s.value for s in at.success)
    labels = [m.label for m in at.metric]
    assert "总得分（指派求解）" in labels and "总得分（贪心基线）" in labels
    table = at.dataframe[0].value
    assert list(table.columns[:4]) == ["时段", "桌号", "需方企业", "供方企业"] and len(table) > 0
    wb = workbook(download_bytes(at, downloads, "对接日程"))
    assert wb.sheetnames[:2] == ["封面", "对接日程"] and wb["对接日程"].max_row == len(table) + 1
    at.button(key="FormSubmitter:ev_outcome-记录结果（进入项目库）").click().run()
    assert_clean(at)
    assert projects.list_projects(Store(own_db))[0]["stage"] == "在谈"


def test_lists_page_adds_an_investment_and_flags_it(small_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = start(small_db, monkeypatch, "承接清单")
    at.text_input(key="inv_firm").input("甲光伏有限公司")
    at.text_input(key="inv_dest").input("江苏省苏州市")
    at.selectbox(key="inv_chain").set_value("太阳能光伏")
    at.button(key="FormSubmitter:inv_form-记录对外投资").click().run()
    assert_clean(at)
    table = next(t.value for t in at.dataframe if "本可落地西咸" in t.value.columns)
    assert list(table.columns[:2]) == ["本可落地西咸", "企业名称"] and "泾河" in table.iloc[0]["本可落地西咸"]


def test_map_page_highlights_a_firms_landing_places(sample_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    at = start(sample_db, monkeypatch, "地图")
    assert charts(at)
    at.text_input(key="map_find").input("隆基").run()
    assert_clean(at)
    table = at.dataframe[0].value
    lit = set(table[table["推荐"] == "是"]["名称"])
    assert any(name.endswith("（现址）") for name in lit) and len(lit) >= 2
    assert any("推荐落地" in s.value for s in at.success)
    # every place is marked 约 and shows where its position comes from and how sure it is
    assert table["位置"].str.startswith("约").all() and (table["位置来源"].str.len() > 0).all()
    # districts (cpca) and 空港新城 (airportsdata) have a public source; the rest are estimates
    assert set(table["可信度"]) <= {"【待核实】", "单一来源"} and "【待核实】" in set(table["可信度"])
    assert (table[table["名称"] == "空港新城"]["可信度"] == "单一来源").all()
    assert any("来源" in c.value for c in at.caption)


def test_match_page_map_panel_shows_sources(sample_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    at = start(sample_db, monkeypatch)
    at.text_area(key="q_text").input("主营单晶硅片和光伏组件，计划外迁扩产，需要工业用地约50亩")
    at.button(key="match_go").click().run()
    assert_clean(at)
    assert not [t for t in at.dataframe if "位置来源" in t.value.columns]  # drawn only once the panel is opened
    at.session_state["q_map"] = True  # the officer opens the map panel
    at.run()
    assert_clean(at)
    assert charts(at)
    panel = next(t.value for t in at.dataframe if "位置来源" in t.value.columns)
    assert len(panel) >= 1 and (panel["推荐"] == "是").all() and panel["位置"].str.startswith("约").all()
    assert (panel["位置来源"].str.len() > 0).all()


def test_kb_edit_is_a_chinese_form(own_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    at = start(own_db, monkeypatch, "知识库")
    parks = next(t.value for t in at.dataframe if "可信度" in t.value.columns and "所属新城" in t.value.columns)
    assert {"confirmed", "single-source"}.isdisjoint(set(parks["可信度"])) and "已核实" in set(parks["可信度"])
    at.radio(key="kb_edit_kind").set_value("产业链").run()
    at.selectbox(key="kb_edit_name_chains").set_value("光子").run()
    field = at.selectbox(key="kb_edit_field_chains")
    assert "别名（每行一个）" in field.options and "aliases" not in field.options
    field.set_value("aliases").run()
    assert "[" not in at.text_area(key="kb_edit_value").value  # one alias per line, not JSON
    at.text_area(key="kb_edit_value").input(at.text_area(key="kb_edit_value").value + "\n光电")
    at.text_input(key="kb_edit_reason").input("补充别名")
    at.button(key="FormSubmitter:kb_edit_chains_光子_aliases-保存为新版本").click().run()
    assert_clean(at)
    assert "光电" in kb.find(kb.current(Store(own_db)), "光子")[1]["aliases"]
    hist = next(t.value for t in at.dataframe if "修改人" in t.value.columns)
    assert "T" not in hist.iloc[0]["时间"] and "+00:00" not in hist.iloc[0]["时间"]


def test_supply_page_filters_by_firm_name_across_scripts(sample_db: Path,  # noqa: F811
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    at = start(sample_db, monkeypatch, "供需对接")
    at.text_input(key="sd_name").input("隆基綠能").run()  # traditional 綠 finds 隆基绿能
    assert_clean(at)
    names = set(at.dataframe[0].value["企业名称"])
    assert names == {"隆基绿能科技股份有限公司"}


def test_empty_cells_show_empty_and_times_are_local(small_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = start(small_db, monkeypatch, "企业管理")
    table = at.dataframe[0].value
    assert "None" not in table.astype(str).values  # the third firm has no region: its cell is empty
    at = start(small_db, monkeypatch, "数据导入")
    assert all("T" not in o and "+00:00" not in o for o in at.selectbox(key="undo_run").options)


def test_signed_feedback_on_a_match_starts_a_project(own_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    at = start(own_db, monkeypatch)
    at.text_area(key="q_text").input("主营单晶硅片和光伏组件，计划外迁扩产，需要工业用地约50亩")
    at.button(key="match_go").click().run()
    assert any(e.label.startswith("地图") for e in at.expander)  # the map panel under the landing places
    signed = feedback_controls(at, "park")[0]
    mark(at, signed, "已签约")
    assert_clean(at)
    made = projects.list_projects(Store(own_db))
    assert len(made) == 1 and made[0]["stage"] == "签约" and made[0]["park"] == signed.split("_")[2]
