"""Query understanding: free text, rows and stored firms as fields; products decide the chain, needs never do."""

from __future__ import annotations

import pytest

from matcher.match.query import Query, parse


def test_officer_sentence_fields():
    q = parse("西安高新区一家做氮化镓射频芯片的企业，计划在沣西新城扩产，需要30亩工业用地，拟投资5亿元，需要采购外延片和陶瓷管壳")
    assert q.products == ["氮化镓射频芯片"]
    assert "外延片" in q.needs and "陶瓷管壳" in q.needs
    assert "扩产" in q.plans
    assert q.land_mu == 30
    assert q.investment_yi == 5
    assert q.location  # where it is now was read
    # The needs are not what the firm makes.
    assert "外延片" not in q.product_text()


def test_labelled_sections():
    q = parse("秦川精工有限公司，主营产品：精密减速器、伺服电机；采购需求：铸件、轴承；计划：迁建到泾河新城")
    assert q.name == "秦川精工有限公司"
    assert q.products == ["精密减速器", "伺服电机"]
    assert q.needs == ["铸件", "轴承"]
    assert "迁建" in q.plans
    assert q.profile().startswith("秦川精工有限公司,主营产品:精密减速器")


def test_anonymous_opener_is_no_name():
    q = parse("某公司，主营产品：电解铝、铝型材")
    assert q.name == ""
    assert q.products == ["电解铝", "铝型材"]


@pytest.mark.parametrize("text, products, business", [
    ("计量校准公司，想在沣东设实验室", [], "计量校准"),
    ("工业设计公司，做工程机械外观和人机", ["工程机械外观", "人机"], "工业设计"),
    ("某检测公司，做食品农残", ["食品农残"], "检测"),
    ("对方是新能源网约车租赁公司，车队800台全是比亚迪", ["车队800台全是比亚迪"], "新能源网约车租赁"),
    ("某商贸公司，主要卖汽配", ["汽配销售"], "商贸"),  # its goods read as they would be without the opener
])
def test_a_kind_of_firm_said_as_a_name_is_its_trade(text: str, products: list[str], business: str) -> None:
    q = parse(text)
    assert (q.name, q.products, q.business) == ("", products, business)
    assert business in q.product_text()


@pytest.mark.parametrize("text, name", [
    ("华为公司，手机", "华为公司"),  # a short brand
    ("西安华为公司，手机", "西安华为公司"),  # a place
    ("西安芯湃微电子有限公司，主营产品：芯片", "西安芯湃微电子有限公司"),  # a legal form
    ("某某科技有限公司，主营产品：光伏组件", "某某科技有限公司"),
])
def test_a_name_stays_a_name(text: str, name: str) -> None:
    q = parse(text)
    assert q.name == name and not q.business


def test_need_clause_inside_product_section_is_a_need():
    q = parse("主营产品：储氢瓶、加氢机，需要扩产用地")
    assert q.products == ["储氢瓶", "加氢机"]
    assert "扩产" in q.plans


def test_product_words_are_not_site_conditions():
    # 电力 in a product name is no power requirement; 双回路供电 in a need is one.
    assert "电力/机房" not in parse("电力电缆和电缆附件").special
    assert "电力/机房" in parse("数据中心服务，需要双回路供电").special


def test_customers_and_inputs_are_not_products():
    q = parse("汽车线束，给整车厂配套，原材料主要是铜杆")
    assert q.products == ["汽车线束"]
    assert q.customers == ["整车厂"]
    assert q.needs == ["铜杆"]


@pytest.mark.parametrize("text, products, needs, customers", [
    # goods said before the verb that buys them
    ("生产锂电池正极材料，前驱体、碳酸锂要长期采购", ["锂电池正极材料"], ["前驱体", "碳酸锂"], []),
    ("电解液，六氟磷酸锂外购，主要供宁德系", ["电解液"], ["六氟磷酸锂"], ["宁德系"]),
    # a material consumed in quantity is an input; a product used in quantity names the customer
    ("做光伏支架的，钢材和锌锭用量大", ["光伏支架"], ["钢材", "锌锭"], []),
    ("铌钛超导线材和钛合金丝材，MRI磁体用量大。", ["铌钛超导线材", "钛合金丝材"], [], ["MRI磁体"]),
    # wanted from local suppliers, after a product section
    ("主要产品是无人机，飞控和电池想在本地配套", ["无人机"], ["飞控", "电池"], []),
    ("主营产品：乳制品，奶源需要就近，包材主要是利乐包", ["乳制品"], ["奶源", "利乐包"], []),
    # the maker of X is asked for X; packaging is goods even beside a logistics condition
    ("要找做PCB的和SMT贴片的", [], ["PCB", "SMT贴片"], []),
    ("公司做预制菜，需要冷链物流和包装盒供应", ["预制菜"], ["冷链物流", "包装盒"], []),
    # a customer's demand for local supply is no need of the firm; nor is help asked of the officer
    ("热泵空调总成，主机厂要求就近配套", ["热泵空调总成"], [], []),
    ("技术转移机构，主要帮院所对接企业", ["技术转移机构"], [], []),
    # what a product is for names its customers; what is bought abroad is a need
    ("生产钛合金紧固件，航空用", ["钛合金紧固件"], [], ["航空"]),
    ("高纯石英砂，给光伏坩埚用", ["高纯石英砂"], [], ["光伏坩埚"]),
    ("做MLCC的，陶瓷粉依赖日本", ["MLCC"], ["陶瓷粉"], []),
    ("卫星通信终端，芯片和天线需要配套", ["卫星通信终端"], ["芯片", "天线"], []),
    ("主营高压开关柜，断路器和互感器需要外购", ["高压开关柜"], ["断路器", "互感器"], []),
    ("做军工电子的，PCB和元器件都是外采", ["军工电子"], ["PCB", "元器件"], []),
    ("主营：光伏玻璃。原料：石英砂、纯碱。客户：隆基、晶科", ["光伏玻璃"], ["石英砂", "纯碱"], ["隆基", "晶科"]),
    ("做医美玻尿酸的，原料透明质酸钠自产", ["医美玻尿酸", "透明质酸钠"], [], []),  # made in house: a product
    ("芯片自研，封测外包", ["芯片"], ["封测"], []),
    ("一家做电子级多晶硅的，电耗大", ["电子级多晶硅"], [], []),  # a power condition, no product
    # whom the product is for, inside a product section; a market's state is no product
    ("主营工业气体，氧氮氩，给钢厂和半导体厂供气", ["工业气体", "氧氮氩"], [], ["钢厂", "半导体厂"]),
    ("主营产品：为航空发动机提供叶片", ["叶片"], [], ["航空发动机"]),
    ("做户用储能，产品出口欧洲，国内还没铺开", ["户用储能"], [], []),
    # a research team's project is its product; a site requirement asks no goods
    ("西工大团队的固态电池项目", ["固态电池"], [], []),
    ("做中药配方颗粒的，要求靠近药材产地", ["中药配方颗粒"], [], []),
    # 利用, 两用, 在用 are no customers
    ("地热综合利用", ["地热综合利用"], [], []),
    ("精密光学元件、激光反射镜，军民两用", ["精密光学元件", "激光反射镜", "军民两用"], [], []),
])
def test_needs_said_the_way_officers_write(text: str, products: list[str], needs: list[str],
                                            customers: list[str]) -> None:
    q = parse(text)
    assert (q.products, q.needs, q.customers) == (products, needs, customers)


@pytest.mark.parametrize("text, products, needs", [
    # inputs said after a labelled product section, or with 上游: needs, never products
    ("主营产品：储能变流器。原材料主要是IGBT模块、薄膜电容、PCB板", ["储能变流器"], ["IGBT模块", "薄膜电容", "PCB板"]),
    ("储能变流器厂家，上游要IGBT、电容、磁性元件", ["储能变流器"], ["IGBT", "电容", "磁性元件"]),
    ("主营产品：碳纤维。上游是丙烯腈", ["碳纤维"], ["丙烯腈"]),
    # a product whose name begins with an input word stays a product
    ("主营产品：原料药、制剂", ["原料药", "制剂"], []),
    ("主营产品：原材料检测服务", ["原材料检测服务"], []),
])
def test_inputs_after_the_products_are_needs(text: str, products: list[str], needs: list[str]) -> None:
    q = parse(text)
    assert q.products == products and q.needs == needs


def test_plan_clause_is_not_a_product():
    q = parse("做锂电池隔膜的，想在咸阳找块地建新工厂")
    assert q.products == ["锂电池隔膜"]
    assert q.target == "咸阳" and not q.location  # where it wants to go, not where it is


def test_where_it_is_and_where_it_wants_to_go_are_apart():
    q = parse("主营产品：光伏组件；现所在地：经开区；计划：迁建至泾河新城")
    assert (q.location, q.target) == ("经开区", "泾河新城")
    q = parse("现在在长安区租厂房，做无人机飞控，想在空港新城新建基地")
    assert (q.location, q.target) == ("长安区", "空港新城")
    q = parse("一家做碳化硅功率器件的企业，计划在泾河新城扩产")
    assert (q.location, q.target) == ("", "泾河新城") and "意向落地 泾河新城" in q.summary()
    assert parse("从碑林区迁到沣西新城，做工业互联网平台").location == "碑林区"


def test_record_and_query_pass_through():
    q = parse({"id": 7, "name": "某材料公司", "products": "碳纤维；预浸料", "needs": "丙烯腈", "region": "咸阳"})
    assert q.firm_id == 7 and q.products == ["碳纤维", "预浸料"] and q.needs == ["丙烯腈"] and q.region == "咸阳"
    assert parse(q) is q
    d = q.as_dict()
    assert d["products"] == ["碳纤维", "预浸料"] and "land_mu" not in d


@pytest.mark.parametrize("text", ["", "   ", "，，。"])
def test_empty_input(text):
    q = parse(text)
    assert isinstance(q, Query)
    assert q.summary() == "" or isinstance(q.summary(), str)


@pytest.mark.parametrize("text, products, name", [
    # a visit note: the opener is not the firm, the equipment and the deal are not products
    ("上午去看了一家一体化压铸企业，做后地板、减震塔，6000T压铸岛各一台，订单饱和", ["一体化压铸", "后地板", "减震塔"], ""),
    # a short name said first, then the business; the firm's state is not a product
    ("瑞康生物，CDMO，做抗体和ADC，现有2000L一次性反应器，想在西咸要2万平GMP厂房", ["CDMO", "抗体", "ADC"], "瑞康生物"),
    ("秦陶新材 | 主营: 碳陶刹车盘 | 客户: 高性能乘用车 | 诉求: 高温炉扩产用电", ["碳陶刹车盘"], "秦陶新材"),
    # specs are part of the product, not products of their own; the customers are said with 大头卖
    ("IGBT模块封装，1200V/1700V/3300V都有，大头卖轨交牵引和风电变流器", ["IGBT模块封装"], ""),
    # an acronym with a slash stays whole; what is bought from outside is a need
    ("星载Ka相控阵天线、T/R组件，GaN芯片和LTCC基板外采", ["星载Ka相控阵天线", "T/R组件"], ""),
    # a meeting minute: 企业情况 is read clause by clause, 存在问题 and 下一步 are not products
    ("企业情况：AR眼镜整机研发与组装，光机外采Micro LED微显示屏；存在问题：光机供应受限；下一步：对接本地显示企业。",
     ["AR眼镜整机"], ""),
    # "X为主" names the main product; a place said with 在 comes before what the firm does there
    ("组串式逆变器为主，研发中心在高新，想在西咸建制造基地", ["组串式逆变器"], ""),
    ("在泾河新城做光伏支架的", ["光伏支架"], ""),
])
def test_officer_notes_read_as_fields(text: str, products: list[str], name: str) -> None:
    q = parse(text)
    assert q.products == products, q.summary()
    assert q.name == name


def test_customers_inputs_and_applications_are_not_products() -> None:
    q = parse("做电化学气体传感器的，用在燃气报警器和煤矿")
    assert q.products == ["电化学气体传感器"] and q.customers == ["燃气报警器", "煤矿"]
    q = parse("复材结构件，主要做飞机整流罩，顺带给无人机厂做机翼")
    assert "无人机厂" in q.customers and "顺带" not in q.products
    q = parse("LED照明灯具，COB光源外采")
    assert q.needs == ["COB光源"] and q.products == ["LED照明灯具"]
    q = parse("线控制动和EPS，乘用车配套，希望周边能配MEMS压力传感器")
    assert q.customers == ["乘用车"] and "MEMS压力传感器" in q.needs
    q = parse("秦翼科技，无人直升机，机身部分用钛合金件和3D打印件，想在本地找配套")
    assert q.products == ["无人直升机"] and any("钛合金件" in x for x in q.needs) and not q.customers


@pytest.mark.parametrize("text, location, products, target", [
    ("高新区一家做储能变流器PCS的企业，想扩产", "高新区", ["储能变流器PCS"], ""),
    ("经开区做重卡零部件的，想在泾河新城新建工厂", "经开区", ["重卡零部件"], "泾河新城"),
    ("西安高新区企业，主营光模块", "高新区", ["光模块"], ""),
    ("主城区一家企业做工业软件，想外溢到沣西", "主城区", ["工业软件"], "沣西新城"),
    ("这家做智能音箱，想在秦汉新城搞生产", "", ["智能音箱"], "秦汉新城"),
    ("咸阳那边的乳企，液态奶和酸奶，想扩产，要奶源", "咸阳", ["液态奶", "酸奶"], ""),
    ("泾阳那边一家IV型储氢瓶企业，想挪到新城", "泾阳县", ["IV型储氢瓶"], ""),
    ("渭南这边有家做钛合金锻件的", "渭南", ["钛合金锻件"], ""),
])
def test_a_place_said_first_is_where_the_firm_is_not_a_product(text, location, products, target):
    """"经开区做…的", "西安高新区企业，…": the place opening the note is the firm's location (its suffix says it is a
    place even when no table says which city's); a place after 想在 is where it wants to go."""
    q = parse(text)
    assert q.location == location
    assert q.products == products
    assert q.target == target


def test_a_plan_later_in_a_clause_is_no_product():
    q = parse("电话里说他们做机载航电，主要是大气数据计算机和飞控计算机，年底有个项目想落地")
    assert "新设" in q.plans
    assert not any("落地" in p for p in q.products)


def test_a_place_said_with_nabian_is_where_customers_are_when_no_firm_follows():
    q = parse("TFT-LCD玻璃基板减薄，咸阳那边客户多，想就近")
    assert q.location == ""


@pytest.mark.parametrize("text, product", [
    ("有家做钛合金锻件的", "钛合金锻件"),
    ("有一个做光模块的", "光模块"),
    ("有机硅材料", "有机硅材料"),
    ("有色金属加工", "有色金属加工"),
    ("主要做有载分接开关，给变压器厂配套", "有载分接开关"),
])
def test_you_opens_a_firm_only_before_one_or_a_verb(text, product):
    """"有家做…的" opens a firm; the 有 of 有机硅, 有色金属 and 有载 is part of the product."""
    assert parse(text).products[0] == product


@pytest.mark.parametrize("text, location, target", [
    ("想在泾河找厂房", "", "泾河新城"),
    ("做跨境电商海外仓的，想在空港拿个仓库，需要保税", "", "空港新城"),
    ("在泾河有个工厂，做光伏组件", "泾河新城", ""),
    ("现在想把总部从高新搬到空港", "高新", "空港新城"),
    ("在泾河新城做光伏支架的", "泾河新城", ""),
])
def test_new_cities_by_the_short_names_officers_say(text, location, target):
    """泾河, 空港, 秦汉 (data/regions.json "spoken") are places in a sentence."""
    q = parse(text)
    assert (q.location, q.target) == (location, target)


def test_short_names_are_not_read_in_imported_addresses():
    from matcher.knowledge.regions import parse_region

    region, district = parse_region("北京市顺义区天竺空港经济开发区")  # another airport zone
    assert region != "西咸新区" and district != "空港新城"


def test_the_verb_of_looking_for_is_not_part_of_a_need():
    q = parse("给比亚迪做电池包壳体的，铝压铸，要找6000吨压铸机和铝锭供应商")
    assert q.needs == ["6000吨压铸机", "铝锭"] and q.customers == ["比亚迪"]


@pytest.mark.parametrize("text, plant, invest", [
    ("半导体封测厂，想在西咸落地，投资10个亿，需要厂房2万平", 20000, 10),
    ("做平板电脑的，要5000平厂房", 5000, None),
    ("CAR-T细胞治疗，GMP车间2000平", 2000, None),
])
def test_figures_as_officers_say_them(text, plant, invest):
    """"2万平" is 2万平方米, "10个亿" is 10亿元; 平板 is no area."""
    q = parse(text)
    assert q.plant_m2 == plant and q.investment_yi == invest


@pytest.mark.parametrize("text, products", [
    ("西电那种做GIS的配套厂，绝缘件和触头", ["GIS的配套", "绝缘件", "触头"]),
    ("就那个做光伏设备的嘛，跟拉普拉斯差不多，LPCVD、硼扩散炉", ["光伏设备", "LPCVD", "硼扩散炉"]),
    ("这种做法兰的", ["法兰"]),
])
def test_a_likeness_is_no_product(text, products):
    """"西电那种做…", "跟拉普拉斯差不多": whom the firm is like, not what it makes."""
    assert parse(text).products == products


def test_xidian_alone_is_the_equipment_group_not_the_university():
    assert "高校人才" not in parse("主要做有载分接开关，西电和特变都是客户").special
    assert "高校人才" in parse("西电科大孵化的团队，做硅光芯片").special


@pytest.mark.parametrize("text, name, products, location", [
    ("杨凌的种业公司，小麦玉米育种，需要试验田", "", ["种业", "小麦玉米育种"], "杨陵区"),
    ("做CAR-T细胞治疗的初创公司，已完成临床前研究", "", ["CAR-T细胞治疗", "已完成临床前研究"], ""),
    ("曲江一家旅游集团旗下的公务机托管和包机销售公司，计划设立运行控制中心", "", ["公务机托管", "包机销售"], "曲江新区"),
    ("一家8个人的AI芯片设计初创公司，需要免费工位", "", ["AI芯片设计初创"], ""),
    ("陕西某某集团有限公司，主营产品：钛材", "陕西某某集团有限公司", ["钛材"], ""),
])
def test_a_description_of_a_firm_is_no_name(text, name, products, location):
    """"杨凌的种业公司", "做…的初创公司": the kind of firm and where it is, not its name; a group's 旗下 firm is that
    firm."""
    q = parse(text)
    assert (q.name, q.products, q.location) == (name, products, location)


@pytest.mark.parametrize("text, products", [
    ("我们对接了一家做储能PCS和BMS的，客户是国网和五大发电", ["储能PCS", "BMS"]),
    ("西咸这边想引一家做碳纤维原丝的，要稳定便宜的电", ["碳纤维原丝"]),
    ("引线框架、塑封料", ["引线框架", "塑封料"]),
])
def test_who_met_or_wants_the_firm_is_no_product(text, products):
    """"我们对接了一家…", "西咸这边想引一家…": the officer's side, then the firm (引线框架 keeps its 引)."""
    assert parse(text).products == products


@pytest.mark.parametrize("text, products, needs", [
    ("做电驱的，缺本地的IGBT模块配套，磁钢靠外地", ["电驱"], ["IGBT模块", "磁钢"]),
    ("光伏组件厂，希望本地有玻璃和边框配套", ["光伏组件"], ["玻璃", "边框"]),
    ("无人机整机，电池和电机都从深圳买", ["无人机整机"], ["电池", "电机"]),
    ("做齿轮箱的，铸件毛坯想就近采购", ["齿轮箱"], ["铸件毛坯"]),
    ("做宠物食品的，猫粮狗粮，然后原料里的羊乳粉是从乳企买的", ["宠物食品", "猫粮狗粮"], ["羊乳粉"]),
    ("手机ODM，屏幕模组拟就近从咸阳面板企业采购", ["手机ODM"], ["屏幕模组"]),
])
def test_goods_bought_elsewhere_or_short_are_needs(text, products, needs):
    """"X靠外地", "X都从深圳买", "X想就近采购", "希望本地有X配套", "X不够": what the firm lacks, never a product."""
    q = parse(text)
    assert (q.products, q.needs) == (products, needs)


def test_supplying_someone_is_no_need():
    assert parse("乘用车配套").customers == ["乘用车"] and parse("乘用车配套").needs == []


def test_a_figure_in_a_labelled_product_list_is_no_product():
    assert parse("主营光伏逆变器，年销售额3亿，员工200人").products == ["光伏逆变器"]
    assert parse("主营产品：投资咨询、资产管理").products == ["投资咨询", "资产管理"]


@pytest.mark.parametrize("text, items", [
    ("采购需求：回转减速驱动和推杆电机，跟踪控制器", ["回转减速驱动", "推杆电机", "跟踪控制器"]),
    ("采购需求：电池跟电机", ["电池", "电机"]),
])
def test_gen_joins_items_but_not_inside_a_word(text, items):
    """跟 joins two items; 跟踪/跟随/跟进/跟单 are words of their own."""
    assert parse(text).needs == items


@pytest.mark.parametrize("text, target, products", [
    ("泾河新城签约光伏跟踪支架项目，企业主营平单轴跟踪系统及控制器", "泾河新城", ["光伏跟踪支架", "平单轴跟踪系统", "控制器"]),
    ("空港新城引进一家功率器件企业，主营SiC MOSFET和SBD二极管", "空港新城", ["功率器件", "SiC MOSFET", "SBD二极管"]),
    ("秦汉新城落地一个氢燃料电池电堆项目", "秦汉新城", ["氢燃料电池电堆"]),
])
def test_a_place_that_signed_a_project_is_its_landing_place(text, target, products):
    """"X新城签约/引进/落地…项目": the new city is where the firm lands; its name is no product and no need."""
    q = parse(text)
    assert (q.target, q.products) == (target, products)
    assert "机场货运" not in q.special  # 空港新城 names a place, not a need for air cargo


@pytest.mark.parametrize("text, products, customers", [
    ("刚开完会，那家做光伏跟踪支架的说隆基是大客户", ["光伏跟踪支架"], ["隆基"]),
    ("做物流无人机的，说顺丰、邮政都是大客户", ["物流无人机"], ["顺丰", "邮政"]),
    ("做储能柜的，宁德时代是他们最大的客户", ["储能柜"], ["宁德时代"]),
    ("公司主营组串式光伏逆变器，产品出口欧洲及东南亚", ["组串式光伏逆变器"], []),
])
def test_big_customers_and_markets_are_no_products(text, products, customers):
    """"X是大客户" names a customer; "产品出口欧洲" a market, neither a product nor a customer trade."""
    q = parse(text)
    assert (q.products, q.customers) == (products, customers)


@pytest.mark.parametrize("text, products, customers, needs, location, target", [
    ("做汽车线束的，比亚迪二级供应商", ["汽车线束"], ["比亚迪"], [], "", ""),
    ("做光伏胶膜的，EVA和POE，原料POE粒子缺", ["光伏胶膜", "EVA", "POE"], [], ["POE粒子"], "", ""),
    ("老板说想把PCB厂从高新搬过来，40亩", ["PCB"], [], [], "高新", ""),
    ("问能不能在空港建个航材分拨仓，做飞机零备件寄售", ["飞机零备件寄售"], [], [], "", "空港新城"),
    ("他们家就是做光学镜片的", ["光学镜片"], [], [], "", ""),
    ("他们是做商业航天的，固体火箭发动机壳体", ["商业航天", "固体火箭发动机壳体"], [], [], "", ""),
    ("自己也做刹车片", ["刹车片"], [], [], "", ""),
])
def test_spoken_openers_tiers_shortages_and_moves(text, products, customers, needs, location, target):
    """"他们(家)是做…", "自己也做…", "X二级供应商" (a customer), "原料X缺" (a need), "想把X厂从Y搬过来" (the trade
    and where it is now), "问能不能在空港建…" (a plan, not where the firm is)."""
    q = parse(text)
    assert (q.products, q.customers, q.needs, q.location, q.target) == (products, customers, needs, location, target)


@pytest.mark.parametrize("text, products, customers, needs", [
    ("老板说他们做电动叉车和仓储AGV，主要卖给物流园", ["电动叉车", "仓储AGV"], ["物流园"], []),
    ("做钛合金3D打印的，粉末自己制", ["钛合金3D打印", "粉末"], [], []),
    ("老板说他们主要做NB-IoT模组和方案，芯片不自己做", ["NB-IoT模组", "方案"], [], ["芯片"]),
    ("搞冷链物流的，乳品和疫苗都运", ["冷链物流"], ["乳品", "疫苗"], []),
    ("做电子级多晶硅的，原料三氯氢硅", ["电子级多晶硅"], [], ["三氯氢硅"]),
    ("一家做芯片测试座的，探针卡也做", ["芯片测试座", "探针卡"], [], []),
    ("做受电弓的，老板说今年高铁招标多", ["受电弓"], [], []),
])
def test_what_the_boss_said_and_what_is_made_in_house(text, products, customers, needs):
    """"老板说…" opens the note; "X自己制" is a product, "X不自己做" a need; "X都运" what a carrier carries;
    "原料X" an input; news ("今年高铁招标多") is no product."""
    q = parse(text)
    assert (q.products, q.customers, q.needs) == (products, customers, needs)


@pytest.mark.parametrize("text, products, location, target, special", [
    ("秦汉这边来了个做康复机器人的，外骨骼", ["康复机器人", "外骨骼"], "", "", []),
    ("一家做IGBT模块封装的，想要双回路供电，年用电2000万度", ["IGBT模块封装"], "", "", ["电力/机房"]),
    ("做乳清蛋白粉的，想在泾阳建厂，奶源要靠近", ["乳清蛋白粉"], "", "泾阳县", []),
    ("外溢企业：西安经开区某重卡车桥厂，拟迁至泾河新城，用地80亩", ["重卡车桥"], "经开区", "泾河新城", []),
    ("一家做液冷服务器的，算力中心要电，想去西咸", ["液冷服务器"], "", "西咸新区", ["电力/机房"]),
])
def test_power_and_nearness_are_conditions_and_a_spillover_row_is_read(text, products, location, target, special):
    """"年用电2000万度", "算力中心要电", "奶源要靠近" are conditions, not products; "外溢企业：…" is a labelled row."""
    q = parse(text)
    assert (q.products, q.location, q.target, q.special) == (products, location, target, special)


@pytest.mark.parametrize("text, name, products, customers, needs", [
    ("北京一家自动驾驶公司，L4无人配送车", "", ["自动驾驶", "L4无人配送车"], [], []),
    ("成都一家做军用无人机的，想在西咸找个试飞空域", "", ["军用无人机"], [], []),
    ("广州一家化妆品代工厂，想在西北设厂", "", ["化妆品代工"], [], []),
    ("苏州一家做精密冲压件的，给宁德时代配套电池结构件", "", ["精密冲压件", "电池结构件"], ["宁德时代"], []),
    ("@王科 这个企业做的是工业CT检测设备，想在沣西落个研发中心", "", ["工业CT检测设备"], [], []),
    ("晶圆在12英寸代工厂流片", "", [], [], ["流片"]),
])
def test_a_city_and_one_firm_is_a_description_not_a_name(text, name, products, customers, needs):
    """"北京一家…公司" describes a firm (no name has 一家 in it); 成都 holds no 都; a 代工厂 the firm is, is its trade
    ("化妆品代工厂"), one it uses is a need ("在代工厂流片"); "给X配套Y": X the customer, Y the product."""
    q = parse(text)
    assert (q.name, q.products, q.customers, q.needs) == (name, products, customers, needs)


@pytest.mark.parametrize("text, products, customers, plans, target", [
    ("一家做光伏组件的企业想扩产", ["光伏组件"], [], ["扩产"], ""),
    ("一家做跨境电商的想落空港", ["跨境电商"], [], [], "空港新城"),
    ("做电池的要在泾河建厂", ["电池"], [], ["新设"], "泾河新城"),
    ("主要卖汽配", ["汽配销售"], [], [], ""),
    ("卖轮胎和机油的", ["轮胎销售", "机油销售"], [], [], ""),
    ("一家卖建材的", ["建材销售"], [], [], ""),
    ("跑冷链运输的", ["冷链运输"], [], [], ""),
    ("开了家汽修厂", ["汽修"], [], [], ""),
    ("垂起固定翼，主要卖电网巡线", ["垂起固定翼"], ["电网巡线"], [], ""),
    ("做物流无人机的，跑山区跟海岛配送", ["物流无人机", "跑山区", "海岛配送"], [], [], ""),
])
def test_trade_then_plan_and_everyday_trade_verbs(text, products, customers, plans, target):
    """"X的企业想扩产" is the trade and a plan in one clause; "卖X" opening a note is a trader's goods (read as
    X销售, not as a maker of X), after the products it names who buys them; "跑X运输", "开了家X厂" the trade."""
    q = parse(text)
    assert (q.products, q.customers, q.plans, q.target) == (products, customers, plans, target)
