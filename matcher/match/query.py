"""Query understanding: any input (free text, a spreadsheet row, a stored firm) as fields the answerers read.

Officers write "一家做碳化硅功率器件的企业，计划在泾河扩产，需要50亩工业用地和双回路供电" as often as they paste
"某公司，主营产品：A、B、C". Products decide the chain; needs, customers and plans never do, but the supply–demand
and landing answerers read them. The parser is rule-based (cue words, numbers with units, the region gazetteer), so
what it understood can be shown to the officer and corrected before matching.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from matcher.knowledge.regions import gazetteer, parse_region, spoken_new_city
from matcher.match.text import normalize

# Labelled sections of a pasted profile: "主营产品：…；采购需求：…".
_SECTION = re.compile(
    r"(企业名称|主营产品|主要产品|产品|主营业务|主要业务|经营范围|业务|主营|企业情况|项目|阶段|意向|采购需求|配套需求|供需需求|需求|诉求|需要采购|采购|主要原材料|主要原料|原材料|原料|"
    r"外溢企业|外溢项目|计划|规划|下一步|投资|现所在地|所在地|地址|位于|客户|下游客户|主要客户|应用|用途|存在问题|问题|卡点|备注|对接人|联系人)[:：]"
)
_SECTION_FIELD = {
    "主营产品": "products", "主要产品": "products", "产品": "products", "主营业务": "business", "主要业务": "business",
    "经营范围": "business", "业务": "business", "采购需求": "needs", "配套需求": "needs", "供需需求": "needs",
    "需求": "needs", "需要采购": "needs", "采购": "needs", "主要原材料": "needs", "主要原料": "needs", "原材料": "needs",
    "原料": "needs", "计划": "plan", "规划": "plan", "投资": "plan",
    "现所在地": "location", "所在地": "location", "地址": "location", "位于": "location", "客户": "customers",
    "下游客户": "customers", "主要客户": "customers", "主营": "products", "企业情况": "free", "企业名称": "name", "项目": "free", "阶段": "other", "意向": "plan", "诉求": "needs", "应用": "customers", "用途": "customers",
    "下一步": "plan", "存在问题": "other", "问题": "other", "卡点": "other", "备注": "other", "对接人": "other",
    "联系人": "other", "外溢企业": "free", "外溢项目": "free",
}
_CLAUSE = re.compile(r"[，,。；;！!？?\n|｜]+")
# 跟 joins two items ("电池跟电机") but begins the words 跟踪/跟随/跟进/跟单 ("跟踪控制器").
_ITEMS = re.compile(r"、|(?<![A-Za-z0-9])[/／]|[/／](?![A-Za-z0-9])|(?<=[^\d])和(?=[^\d])|及|以及|与|跟(?![踪随进单班])|还有|加上")
# "粉末自己制", "泵浦源也是自己做": a part the firm makes itself — one of its products.
_SELF_MADE = re.compile(r"^(?:原料|原材料)?(.{2,12}?)(?:也是|都是|也|都|是)?(不)?(?:自己|自家|自主)(?:做|制|造|生产|研发|配)(?:的)?$"
                        r"|^(?:原料|原材料)?(.{2,12}?)(?:也是|都是|也|都|是)?自(?:产|制|研)$")
# "乳品和疫苗都运": what a carrier carries, for whom it works — not what it makes.
_CARRIED = re.compile(r"^(.{2,16}?)(?:都|也)(?:运|拉|送|配送)$")
# "原料三氯氢硅": an input said right after the word for it.
_RAW = re.compile(r"^(?:主要)?(?:原料|原材料|主材)[:：]?(?!.*(?:是|为|用|依赖|来自|进口|从|采购|买|靠|不|都|也|里|中|自))(.{2,16})$")
# A bare activity, said of how the firm works rather than what it sells.
_ACTIVITY = re.compile(r"(自己|自家)?(就|只|主要)?(做|搞|负责)?(研发|设计|组装|装配|测试|销售|加工|安装|运维)")
# A listed product section ("主营产品：技术服务与开发、…") is split on its list marks only: its items are names.
_LIST_ITEMS = re.compile(r"[、/／]")
# An item of a product section that is really a request or a plan ("主营产品：A、B，需要扩产用地").
_REQUEST_START = re.compile(r"^(需要|需求|寻求|寻找|急需|希望|想找|想要|计划|拟|准备|打算|想在|谋划|有意|考虑)")
# A clause that states what the firm buys or wants from suppliers.
_NEED_CUE = re.compile(r"(^要(?![在到去把求])|采购|需要|需求|寻求|寻找|找|缺|急需|希望.{0,6}(配套|配|供应|供货)|想找|对接|外购|进口替代|依赖进口|要用|用量)")
# A clause about customers: "给比亚迪配套", "为主机厂供货", "客户是…".
_CUSTOMER_CUE = re.compile(r"(给|为|向)(.{1,20}?)(配套|供货|供应|代工|提供|做|喷涂|加工|供气|供电|供热|供汽|供水)|客户(主要|大多|多|全|都|基本)?(是|为|有|包括|集中在)"
                           r"|^客户|下游(主要)?(是|为|以)|(主要|大头|大部分)卖给?|卖给|供应给|^(主要|大多|多)?(用于|应用于|用在|用到|面向|服务于|配套|出口|装在|主打|供(?!应|货|电|水|汽|热))|销往|出口到")
_PLAN_CUE = re.compile(r"(计划|拟|准备|打算|想|将|要|正在|谋划|有意|考虑|能不能|能否|可不可以|可否)")
# A clause that opens with a plan ("想在咸阳找块地…", "计划在西咸投40亿"): never what the firm makes.
_PLAN_START = re.compile(r"(问?(?:能不能|能否|可不可以|可否)(?:在|去|到|落|放)|计划|拟|准备|打算|想在|想到|想去|想把|想要在|谋划|有意|考虑|正在筹|将在|要在|新上|新增|上马|扩建|新建|先在|先去|再在|意向|想扩|想上|想建|想新建|想找个|(后面|后续|以后|将来|未来|明年|今年|年底|下半年)还?(想|要|打算|计划)|(想|要|准备|打算)往)")
PLAN_KINDS: dict[str, tuple[str, ...]] = {
    "扩产": ("扩产", "扩能", "扩建", "新增产能", "增资扩产", "产能扩张", "二期", "新建产线", "新上", "扩大生产"),
    "迁建": ("迁建", "搬迁", "迁往", "迁到", "迁至", "整体搬", "外迁", "转移", "搬到", "搬过去", "迁过去", "外溢"),
    "新设": ("新设", "设立", "成立", "新建", "落地", "布局", "建设基地", "建厂", "建基地", "分公司", "子公司", "总部", "分支"),
    "研发转化": ("转化", "产业化", "中试", "孵化", "成果", "研发中心", "实验室", "小试", "量产"),
}
# Site and service conditions a landing place must meet (not things bought from suppliers).
SPECIAL_NEEDS: dict[str, tuple[str, ...]] = {
    "机场货运": ("机场", "航空货运", "空运", "快件", "货站", "临空", "航空物流", "国际航线", "货机", "空港", "包机"),
    "保税口岸": ("保税", "跨境", "口岸", "海关", "报关", "综保区", "自贸", "进出口", "原产地", "rcep", "中欧班列", "陆港"),
    "电力/机房": ("电力", "用电", "双回路", "供电", "变电站", "电价", "机房", "数据中心", "算力", "机柜", "idc", "绿电"),
    "临床资源": ("临床", "医院", "gmp", "药监", "注册证", "伦理", "cro", "床位"),
    "氢源": ("氢源", "加氢", "氢气供应", "制氢", "用氢"),
    "检测认证": ("检测", "检验", "认证", "计量", "测试平台", "试验验证", "实验室认可", "cnas"),
    "高校人才": ("高校", "大学", "科研院所", "研究院", "人才", "工程师", "博士", "交大", "西工大", "西电科大", "西安电子科技大学"),
    "测试道路": ("测试道路", "试验场", "路测", "测试场", "示范道路", "车路协同"),
    "文旅资源": ("文旅", "景区", "遗址", "文物", "博物馆", "旅游", "演艺", "研学"),
    "物流仓储": ("仓储", "冷链", "物流园", "分拨", "配送中心", "仓库"),
    "环保容量": ("环评", "排放", "化工园", "危化", "危险品", "污水", "能耗指标"),
}
_SITE_WORDS = re.compile(r"(用地|土地|块地|拿地|找地|亩|厂房|平方米|平米|㎡|m2|标准化厂房|办公|楼宇|场地|仓库|库房|园区|载体|工位)")
_LAND = re.compile(r"(\d+(?:\.\d+)?)\s*(万)?\s*亩")
# "2万平", "5000平的厂房": 平 said for 平方米 (not 平板, 平台…)
_PLANT = re.compile(r"(\d+(?:\.\d+)?)\s*(万)?\s*(平方米|平米|平方|㎡|m2|m²|平(?![板台面衡安方整]))")
_INVEST = re.compile(r"(?:投资|投入|总投资|计划投资|拟投资|融资|估值)?\s*(?:约|近|超|超过|逾)?\s*(\d+(?:\.\d+)?)\s*个?\s*(亿元|亿|万元)")
# The present in a clause about places ("现在在高新区租厂房"), and a move from one place to another.
_NOW_CUE = re.compile(r"(位于|坐落|地处|现在|目前|现于|现有|总部在|总部位于|原来|原在|已在|扎根)")

# "冰箱(内置IoT模组)": what a product contains, not a product of its own.
_COMPONENTS = re.compile(r"\((内置|含|带|搭载|采用|配)[^)]*\)?")
# A clause of a product section that says who buys ("主营：钛焊管，供氯碱装置").
_CUSTOMER_START = re.compile(r"^(供(?!应|货|电|水|汽|热)|用于|应用于|面向|销往|出口到?|客户(?:是|为|包括)?)")
# Fillers of a spoken note and a date opening a briefing ("嗯，那个，…", "4月26日，…").
_FILLER = re.compile(r"^((@\S+\s*|哎|嗯|呃|啊|那个|然后|反正|你看|对了|刚开完会|开完会|会上|会后|听说|据说|(?:他们|对方)?(?:老板|负责人|CEO|董事长|总经理)(?:在)?(?:电话里)?(?:说|讲))[，,、\s]*)+|^\d{1,2}月\d{1,2}日")
# "西工大团队的固态电池项目": a research team's project is its product.
_TEAM_PROJECT = re.compile(r"^(?:.{1,12}?)(?:团队|课题组|实验室|研究院|研究所)的((?:(?![，,。的])[\u4e00-\u9fa5A-Za-z0-9]){2,16}?)(?:项目|技术)?$")
# A briefing names the firm by its trade: "我区与某新能源汽车企业签订…协议".
_SIGNED = re.compile(r"与(?:某|一家)?([\u4e00-\u9fa5A-Za-z]{2,16}?)(?:企业|公司|集团|厂商)签(?:订|约|署)")
# An output figure with the product after it: "年产20万辆纯电乘用车".
_OUTPUT = re.compile(r"^(?:达产后)?(?:年产|年产能|产能)(?:约|达|近|超)?[\d.]+\s*(?:万|亿|千)?\s*(?:吨|辆|台|套|片|件|根|只|支|颗|GW|MW|平方米|㎡|架|发|颗)?(.*)$")
# "一家做光伏组件的企业想扩产": the firm's trade, then in the same clause what it plans.
_TRADE_THEN_PLAN = re.compile(r"(?<=[\u4e00-\u9fa5A-Za-z0-9])的(?:企业|公司|厂家?|厂商|项目)?(?=(?:想|打算|准备|计划|拟|有意|考虑|要(?:在|去|到|落|扩|建|搬|上)))")
# "主要卖汽配", "跑冷链运输的", "开了家汽修厂": the trade said by its everyday verb.
_TRADE_VERB = re.compile(r"^(?:一家|有家|这家|那家)?(?:主要|专门|就是|也|还)?(?:(卖|倒腾|批发|零售)(?![给到])|跑(?=[^，,]{0,6}(?:运输|物流|冷链|货运|配送|快递|专线|网约车|出租|客运))"
                         r"|开了?(?:一?家|个)(?=[^，,]{1,12}(?:店|厂|馆|超市|公司)的?$))(?=[\u4e00-\u9fa5A-Za-z]{2})")
# "物流、电力客户": who the customers are, said with 客户/用户 last.
_THEIR_CUSTOMERS = re.compile(r"([\u4e00-\u9fa5、A-Za-z]{2,20}?)(?:等)?(?:客户|用户)(?:为主)?")
# Products said outright inside a sentence: "主要产品包括A、B及C", "产品为…", "产品涵盖…".
_PRODUCT_CUE = re.compile(r"(主要产品|主营产品|核心产品|产品|业务)(主要)?(包括|包含|涵盖|覆盖|为|是|有)[:：]?")
# "【在谈】…", "宝鸡过来的…": a stage tag, where the firm comes from.
_STAGE_TAG = re.compile(r"^[【\[](在谈|签约|跟踪|谋划|储备|开工|投产|洽谈|意向|线索|已签约|已落地)[】\]]")
_FROM = re.compile(r"^([\u4e00-\u9fa5]{2,8}?)(过来|出来|迁来|搬来)的")
# The short names officers say for the new cities (泾河, 空港; data/regions.json "spoken"), read as places too.
_SPOKEN = "|".join(re.escape(e["key"]) for e in gazetteer().get("spoken", []))
_OR_SPOKEN = f"|{_SPOKEN}" if _SPOKEN else ""  # (an alternative to add to a group of place words)
# A new city or park that signed, brought in or landed a project ("泾河新城签约光伏跟踪支架项目"): the place is
# where the firm goes, what follows is its trade.
_LANDED = re.compile(r"^([\u4e00-\u9fa5]{0,10}?(新城|新区|园区|产业园|基地|开发区|高新区|经开区)" + _OR_SPOKEN + r")"
                     r"(?:新)?(?:签约|引进|引入|招引|落地|签下|迎来)(?:了)?(?:一家|一个|一批|个|家)?(.+?)(?:项目|企业|公司|厂商)?$")
# Who buys most, said as "隆基是大客户" (after what the firm makes: "那家做光伏支架的说隆基是大客户").
_BIG_CUSTOMER = re.compile(r"^(.*?)(?:的)?(?:说|讲|称)?((?:(?![的说讲称都])[\u4e00-\u9fa5A-Za-z0-9、]){2,20}?)(?:都|也)?(?:是|为)(?:它|他们|其|我们|他家|它家)?的?"
                           r"(?:大|主要|最大|重要|核心|头号|第一大)的?客户$")
# Where the goods are sold ("产品出口中东、拉美"): a market, neither a product nor a customer trade.
_MARKET = re.compile(r"^(产品)?(主要|大多|多|大部分)?(出口|远销|销往|卖到)")
# "比亚迪二级供应商": whose supplier the firm is (a tier says so; "逆变器供应商" is what it makes).
_TIER = re.compile(r"^(?:是)?([\u4e00-\u9fa5A-Za-z0-9、]{2,12}?)的?(?:一级|二级|三级|Tier ?[123]|T[123])(?:供应商|配套商|供货商)$",
                   re.IGNORECASE)
# "想把PCB厂从高新搬过来": what moves (the trade) and where it is now.
_MOVE_FROM = re.compile(r"把([\u4e00-\u9fa5A-Za-z0-9]{1,12}?)(?:厂|工厂|产线|生产线|基地|总部|研发中心)?从"
                        r"([\u4e00-\u9fa5]{2,10}?)(?:那边)?(?:整体)?(?:搬|迁|转移)")
_MOVE = re.compile(r"(迁建到|迁建至|迁到|迁至|迁往|搬到|搬至|搬往|转移到|转移至|外溢到|到|至|往)(?=[^，,。]{0,4}(西咸|新城|新区|园区|开发区|经开区|高新区|区|县|市|基地" + _OR_SPOKEN + r"))")
_PLACE_PHRASE = re.compile(r"^(现在|目前|现)?(位于|坐落于?|地处|在)[^，,。]{0,12}?(新区|新城|园区|园|开发区|高新区|经开区|基地|区|县|市"
                           + (f"|(?:{_SPOKEN})(?!新城|新区)" if _SPOKEN else "") + r")(的)?")
_LOCATION_CUE = re.compile(r"(位于|坐落|地处|现在|目前在|现于|总部在|总部位于|在(?=[^，,。]{0,12}(区|新城|园|开发区|基地|高新|经开|西咸"
                           + _OR_SPOKEN + r")))")
# Openers and tails that wrap a product phrase: "一家做X的企业", "主要生产X", "X厂商".
_LEAD = re.compile(
    r"^(哎|嗯|呃|啊)?(就是|就)?(那个)?((?:[\u4e00-\u9fa5A-Za-z]{0,8}?)(?:那种|那样|这种|这样)的?(?=做|搞|生产|制造|专门))?(该企业|该公司|这个企业|这家企业|这个公司|这家公司|公司|企业|我们|他们家|他家|他们|她们|自己|自家)?(这是|是|有一家|有家|有(?=[一个某该这那]|做|搞|造|生产|制造|研发))?(一家|一个|某|该|这家|那家|有家|个)?(?:[\d一二两三四五六七八九十几百]+来?(?:个人|号人|人)的)?(?:[^，,]{1,12}旗下的?)?"
    r"((国内|全球|国际|行业|西北|全国|业内)?(领先|知名|专业|一流|头部)的?)?"
    r"(主要|主营|专门|专业|专注于?|致力于|聚焦于?|目前|现在|(?:也|还)(?=做|搞|生产|制造|研发))?(从事|做的是|搞的是|做|搞|造|生产|制造|研发|研制|开发|提供|经营|销售|加工|设计|运营|承接|负责)?"
)
_TAIL = re.compile(r"((的|等)[^的]{0,24}?(企业|公司|厂家|厂商|供应商|提供商|制造商|生产商|服务商|运营商|集团|工厂))$"
                   r"|(的|等)?(企业|公司|厂家|厂商|供应商|解决方案提供商|提供商|解决方案|制造商|生产商|服务商|运营商|集团|(?<!代)工厂|厂|团队|项目|"
                   r"业务|产品|龙头|研发|研发和生产|研发与生产|研发生产|研发制造|生产|制造|那家|那种|这种|之类|这些|嘛|吧|呢|"
                   r"生产线|产线|生产基地|项目)+$")
_NAME = re.compile(r"^([\u4e00-\u9fa5A-Za-z0-9()（）·]{2,40}?(有限责任公司|股份有限公司|有限公司|集团|公司|研究院|研究所))")
_LEAD_NAME = re.compile(r"^([^，,:：。；;、]{2,60}?)[，,:：]")
_NAME_END = re.compile(r"(有限责任公司|股份有限公司|有限公司|股份公司|集团|公司|研究院|研究所)[)）]?$")
_LEGAL_TAIL = re.compile(r"(有限责任公司|股份有限公司|有限公司|控股|公司)")
# "某公司，…" / "该企业：…": an anonymous opener, not a name.
_ANON = re.compile(r"^(某|该|一家|这家)?(公司|企业|厂家|单位)[，,：:]")
# "西安高新区一家…", "曲江的一家…": where the firm is, said before what it is.
_PLACE_LEAD = re.compile(r"^([\u4e00-\u9fa5]{0,10}?(高新区|经开区|新区|新城|区|县|市|园区|基地|主城)|[\u4e00-\u9fa5]{2,3})(的)?"
                         r"(?=一家|某|一个|有家|有一家)"
                         # "经开区做重卡零部件的", "西安高新区企业": a place by its suffix, then the firm or its trade
                         r"|^((?:(?![想给在到去要把和与的了做搞说是为向往])[\u4e00-\u9fa5]){0,8}?"
                         r"(高新区|经开区|开发区|新区|新城|园区|产业园|县|主城区))(的)?"
                         r"(?=做|搞|生产|制造|研发|企业|公司|厂)"
                         # "咸阳那边的乳企", "渭南这边有家…": a place said with 那边 / 这边
                         r"|^((?:(?![想给在到去要把和与的了做搞说是为向往从])[\u4e00-\u9fa5]){2,6}?)(那边|这边|那儿|这儿)(的)?"
                         r"(?=一家|某|一个|有家|有一家|有个|做|搞|生产|[\u4e00-\u9fa5]?企|企业|公司|厂)"
                         # "杨凌的种业公司": a place, 的, then the kind of firm (read only when the place is known)
                         r"|^((?:(?![想给在到去要把和与的了做搞说是为向往从])[\u4e00-\u9fa5]){2,6}?)的(?=[\u4e00-\u9fa5]{1,4}(?:公司|企业|厂))")
# What may be left of a clause once its leading place is read: the firm itself, no product.
_JUST_FIRM = re.compile(r"^(一家|某|一个|有家|有一家|这家)?(企业|公司|厂家|厂|单位)?$")
# "材料主要是高温合金", "原料用…": inputs the firm consumes (supply needs), never its own products.
# "上游要IGBT、电容", "上游原料主要是聚乙烯": the firm's inputs, said by where they come from.
_UPSTREAM = r"^上游(?:原材料|材料|原料|配套)?(?:主要|大多|多)?(?:要|是|为|用|需要|采购|包括)"
_INPUT_CUE = re.compile(r"(原材料|材料|原料|主材|包材|辅料|耗材|核心部件|关键部件)(主要|大多|多)?(是|为|用|采用|依赖|来自)"
                        r"|" + _UPSTREAM + r"|(部分|主要|大多|全部?|(?<![成首京古])都)(?:(?![是为在的])[\u4e00-\u9fa5]){0,4}?(用|采用)(?![于在到])|^采用|搭载|内置|由[^，,。]{1,8}?(?:配套|提供|供应|供货)|外采|外协给?|委外|外包|外面代工|(?:找|靠|委托|交给|用|外包给|在[^，,。]{0,8})代工厂|^代工厂|从.{1,8}(那边)?拿")
# A clause that opens by saying what the firm's inputs are ("原材料主要是…", "上游要…"), even inside a product section.
_INPUT_LEAD = re.compile(r"^(?:主要)?(?:原材料|原料|主材|包材|辅料|耗材)(?:主要|大多|多)?(?:是|为|用|采用|依赖|来自)"
                         r"|" + _UPSTREAM)
# Goods said before how they are got or lacking: bought elsewhere, short, or wanted from local suppliers — supply
# needs, never products.
_SOURCED = re.compile(r"(?:(?:希望|想|要求|要|盼着?)?(?:本地|当地|就近|周边)(?:能)?有"
                      r"((?:(?![，,。])[\u4e00-\u9fa5A-Za-z0-9、和及与+/\-]){1,16}?)(?:的)?(?:配套|供应商?|厂家|企业)?"
                      r"|(?:其实|另外|然后|而且)?(?:(?:原料|原材料|材料)(?:里的|中的|里)?)?"
                      r"((?:(?![，,。])[\u4e00-\u9fa5A-Za-z0-9、和及与+/\-]){1,16}?)"
                      r"(?<!产能)(?<!人手)(?<!资金)(?<!用地)(?<!厂房)(?<!场地)(?<!订单)(?<!要求)"
                      r"(?:(?:都|也|全|全部|主要|大多|大部分|基本|需要|得|想|拟|计划|打算|将)?(?:就近|本地|当地)?(?:是|要)?)"
                      r"(?:从[^，,。]{1,8}?(?:那边)?(?:买|采购|收购|收|进货|进|调货|拉)(?:的|来的|过来)?"
                      r"|靠(?:外地|外省|省外|进口|南方|外面|国外|海外)(?:供应|供货|采购|进)?"
                      r"|依赖(?:外地|外省|进口|国外|海外|日本|日韩|韩国|美国|欧洲|德国)(?:进口)?"
                      r"|(?:不够|不足|短缺|紧缺|紧张|缺口大?|供不上|缺)"
                      r"|(?:想|拟|要|计划|希望)?在?(?:就近|本地|当地)(?:采购|外购|外采|解决|配套)))")
_NOISE = re.compile(r"^(该企业|该公司|公司|企业)?(规模|员工|人员|营收|年营收|产值|年产值|销售额|年销售额|销售收入|年收入|成立于|注册资本|约|共|大约|"
                    r"投资|总投资|计划投资|拟投资)")
# An item that is only a rating or a size ("1200V", "8英寸"): part of a product named elsewhere in the clause.
_SPEC = re.compile(r"([\d.\-~～×xX*%+]+\s*([A-Za-z]{1,3}|英寸|寸|吨|万吨|GW|MW|kW|mm|米|层|代)?[/／]?)+")
# "乳企", "药企", "车企": what kind of firm it is, said with 企 — not a product; nor is a likeness ("跟拉普拉斯差不多").
_FIRM_KIND = re.compile(r"[\u4e00-\u9fa5]{1,3}企|(跟|和|与|像)?[^，,]{1,10}(差不多|类似|一样)")
# A word left before a customer cue that is no product ("顺带给无人机厂做机翼").
_ADVERB = re.compile(r"(顺带|顺便|另外|同时|也|还|主要|大头|大部分|并|其中)")
# "航空用", "给光伏坩埚用": what the product is for (its customers), never a product itself.
_FOR_USE = re.compile(r"^(?:主要|多|都)?(?:给|为|供)?([\u4e00-\u9fa5A-Za-z]{2,10}?)(?:上|领域)?(?:(?<![利两在复再通共应作使可适自])用|使用|专用)$")
# "钢材和锌锭用量大", "纯水用量大": a material or utility the firm consumes in quantity (a supply need); "MRI磁体用量大"
# says who uses the product a lot (customers, below).
_CONSUMED = re.compile(r"((?:(?![，,。])[\u4e00-\u9fa5A-Za-z0-9、和及与+/\-]){1,15}?[材料粉锭水电气油煤钢铁铜铝浆剂砂石])的?"
                       r"(?:用量|消耗量|耗量|需求量)(?:很|较|比较|特别|非常)?大")
# "化工换热器用的多": who uses it most; "乘用车配套": whom it supplies.
_USED_BY = re.compile(r"(?:主要)?([\u4e00-\u9fa5A-Za-z]{2,12}?)(?:用的多|用得多|用得最多|用量大)")
_SUPPLIED = re.compile(r"(?:主要)?(?:给|为)?([\u4e00-\u9fa5A-Za-z]{2,10}?)(?:配套|供货)")
# How an officer's note opens before it says what the firm does: a visit, a follow-up ("上午去看了一家…", "跟进：").
# "上午去看了一家…", "我们对接了一家…", "西咸这边想引一家…": who met or wants the firm, then the firm itself.
_OPENER = re.compile(r"^((我们|我|咱们|咱|区里|我区)?([\u4e00-\u9fa5]{2,4}这边)?(今天|上午|下午|昨天|刚才|刚|近期|本周|上周)?(去|来)?(想|要|拟|准备)?"
                     r"(看了|见了|见完|走访了?|拜访了?|对接了?|聊完|聊了|接触了?|调研了?|考察了?|引进了?|招引了?|引了|引(?=一家|一个|个|家)|来了(?=一家|一个|个|家))"
                     r"|(跟进|走访|拜访|调研|对接)[:：])")
# A short name said first ("瑞康生物，CDMO，…"): a brand of two to four characters and a word firms are named with.
_SHORT_NAME = re.compile(r"^([\u4e00-\u9fa5]{2,4}(科技|生物|牧业|医疗|精工|精密|重工|新材|实业|机电|电气|智造|智控|乳业|药业|制药|股份|"
                         r"集团|本草|通信|复合|装备|钢构|物流|空间|新能))(?:\([^)]{1,8}\))?(?=\s*[，,:：|｜])")
_NOT_A_BRAND = re.compile(r"^(航空|航天|汽车|工业|医用|智能|新能|合成|卫星|光纤|移动|电力|轨道|轨交|军工|农业|电子|海洋|空天|高端|精密|"
                          r"先进|数字|生命|动物|海上|能源|光电|量子|通用|专用|特种|无线|宽带|数据|应急|环境|节能|化学)")
# A clause about the firm's state or the deal, not what it makes ("订单饱和", "环评是关键", "在谈B轮").
_STATUS = re.compile(r"(在跟.{1,8}谈|招标|年用电|要电$|缺电|电费|要靠近$|用电量大|用电大|耗电大|用水量大|用气量大|是关键|要求高|要求严|没铺开|电耗大|电耗高|能耗大|能耗高|要求(?:就近|本地)配套$|饱和|入网证|资质|在谈|天使轮|[A-D]\+?轮|融资|都在看|在看|老板|订单|刚拿到|拿到了|通过了|上量|"
                     r"跟不上|产能不足|不够用|租厂|先租|过渡|认证中|在认证|获批|^现有|^目前有|^已有|^已经|阶段$|团队|出来|孵化|门高|层高|承重|净高|"
                     r"各一台|各一条|台套|^已获|已取得|^取得|是难点|难点|都在用|最近接了|接了几个|中标|营收|营业收入|净利|毛利|收年费|收费|^拥有|^获得|致力于|打造|愿景|"
                     r"使命|离客户近|电价|保密|周期较长|越快越好|^最好|^老板|^说是|^听说|规模不大|便宜|说白了|好招|防爆|重量|续航|多亿|^他们说|^说|不搞|不做|不涉及|能不能|有没有|问咱们|就行|左右$|顺便|"
                     r"功率覆盖|覆盖\d|年产值|达产后|项目主要建设|主要建设|建成后|^接入|^[\d.]+\s*(万|亿)?(台|辆|套|吨)?(左右)?$|产业园运营|园区运营|厂房租赁|招商代理|注册证|"
                     r"^一个多|不足\d)")
# "生产想放西咸", "研发放高新": where a part of the firm is to go.
_PUT = re.compile(r"(想放|放在|放到|^放|(研发|生产|总部|工厂|基地|中试)放|落在|落到|设在)(?=[^，,。]{0,10}(西咸|新城|新区|园区|园|开发区|经开区|高新|区|县|市|基地|西安|咸阳))")


@dataclass
class Query:
    """What a query says, as fields; ``product_text`` is what decides the chain.

    Attributes:
        text: the whole input, normalised.
        name: the firm's name when given.
        products: what the firm makes or does (items).
        business: the business description (a stored firm's 主营业务, or product sentences that are not item lists).
        needs: what it wants to buy or source (items).
        customers: who it sells to, when said.
        location: where it is now (district, new city or park), and ``region`` (西安 / 咸阳 / 西咸新区 …).
        target: where a plan says it wants to go (意向落地: "拟迁建到泾河新城", "想在西咸找地方扩产"); never its location.
        plans: 扩产 / 迁建 / 新设 / 研发转化.
        land_mu, plant_m2, investment_yi: site and money figures, when given.
        special: site and service conditions (机场货运, 电力/机房, 临床资源, 氢源, 检测认证, 高校人才 …).
        firm_id: the stored firm this query is, when it is one.
    """

    text: str = ""
    name: str = ""
    products: list[str] = field(default_factory=list)
    business: str = ""
    needs: list[str] = field(default_factory=list)
    customers: list[str] = field(default_factory=list)
    location: str = ""
    region: str = ""
    target: str = ""
    plans: list[str] = field(default_factory=list)
    land_mu: float | None = None
    plant_m2: float | None = None
    investment_yi: float | None = None
    special: list[str] = field(default_factory=list)
    firm_id: int | None = None

    # -- texts the answerers read --------------------------------------------------------------------------------
    def _memo(self, name: str, key: tuple[Any, ...], make: Callable[[], str]) -> str:
        """A derived text, computed once per query (a batch asks for the same texts several times per firm);
        recomputed when the fields it comes from change."""
        memo = self.__dict__.setdefault("_texts", {})  # not a field: stays out of as_dict and comparisons
        hit = memo.get(name)
        if hit is None or hit[0] != key:
            hit = memo[name] = (key, make())
        return hit[1]

    def product_text(self) -> str:
        """What the firm makes: the text that decides its chain and class (never needs, customers or plans)."""
        def make() -> str:
            items = "、".join(self.products)
            if items and self.business:
                return normalize(f"{items}，{self.business}")
            return normalize(items or self.business or self.text)

        return self._memo("product", (tuple(self.products), self.business, self.text), make)

    def profile(self) -> str:
        """'name，主营产品：items' — the form the chain text model was trained on."""
        products = self.product_text()
        return self._memo("profile", (self.name, products), lambda: normalize(f"{self.name}，主营产品：{products}"))

    def needs_text(self) -> str:
        """What the firm wants to source, as one text (empty when it said nothing)."""
        return "、".join(self.needs)

    def site_text(self) -> str:
        """What a landing place must offer: products, needs and the special conditions, for the park answerer."""
        return normalize("，".join(x for x in (self.product_text(), self.needs_text(), "、".join(self.special),
                                                 self.text) if x))

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (empty fields left out)."""
        return {k: v for k, v in asdict(self).items() if v not in (None, "", [])}

    def summary(self) -> str:
        """One line in Chinese: what was understood (shown as 识别为：…)."""
        bits = []
        if self.name:
            bits.append(f"企业 {self.name}")
        if self.products:
            bits.append("产品 " + "、".join(self.products[:6]))
        elif self.business:
            bits.append("业务 " + self.business[:40])
        if self.needs:
            bits.append("需求 " + "、".join(self.needs[:6]))
        if self.customers:
            bits.append("客户 " + "、".join(self.customers[:3]))
        if self.location:
            bits.append(f"现所在地 {self.location}")
        if self.target:
            bits.append(f"意向落地 {self.target}")
        if self.plans:
            bits.append("计划 " + "、".join(self.plans))
        if self.land_mu:
            bits.append(f"用地 {self.land_mu:g} 亩")
        if self.plant_m2:
            bits.append(f"厂房 {self.plant_m2:g} ㎡")
        if self.investment_yi:
            bits.append(f"投资 {self.investment_yi:g} 亿元")
        if self.special:
            bits.append("条件 " + "、".join(self.special))
        return "；".join(bits)


def _items(text: str, splitter: re.Pattern[str] = _ITEMS) -> list[str]:
    out = []
    for part in splitter.split(text):
        part = (part or "").strip(" ：:，,。；;（）()\"'“”")
        if len(part) >= 2 and part not in out:
            out.append(part)
    return out


def _add(into: list[str], items: list[str]) -> None:
    """Append the items a field does not hold yet (a clause may repeat what an earlier one said)."""
    into += [x for x in items if x not in into]


def _product_items(text: str) -> list[str]:
    """The product items of a phrase, each without its tail words ("…企业", "…生产线"); a bare rating or size is no
    item, nor is a bare activity ("自己就做设计跟整机组装": 设计 is what the firm does in making its products)."""
    return [x for x in (_TAIL.sub("", i) or i for i in _items(text)) if not _SPEC.fullmatch(x)
            and not _ACTIVITY.fullmatch(x)]


def _strip_product(clause: str) -> str:
    c = _PLACE_LEAD.sub("", clause.strip(), count=1)
    for _ in range(2):
        c = _LEAD.sub("", c, count=1).strip("，, ：:")
        c = _TAIL.sub("", c).strip("，, ：:")
        c = re.sub(r"的$", "", c).strip()
    return c


def _numbers(q: Query, text: str) -> None:
    if q.land_mu is None and (m := _LAND.search(text)):
        q.land_mu = float(m.group(1)) * (10_000 if m.group(2) else 1)
    if q.plant_m2 is None and (m := _PLANT.search(text)):
        q.plant_m2 = float(m.group(1)) * (10_000 if m.group(2) else 1)
    if q.investment_yi is None:
        for m in _INVEST.finditer(text):
            before = text[max(0, m.start() - 6):m.start() + 4]
            if not any(w in before for w in ("投资", "投入", "总投", "资金")) and "投资" not in text[m.end():m.end() + 3]:
                continue
            value = float(m.group(1))
            q.investment_yi = value / 10_000 if m.group(2) == "万元" else value
            break


# One alternation per kind: a search in C instead of a loop over words (parsing runs for every indexed firm).
def _words_re(words: Any) -> re.Pattern[str]:
    """Any of the words; a Latin one only as a whole word (cro is not the cro of Micro-OLED)."""
    return re.compile("|".join(rf"(?<![a-z]){re.escape(w)}(?![a-z])" if w.isascii() else re.escape(w) for w in words))


_SPECIAL_RE = {kind: _words_re(words) for kind, words in SPECIAL_NEEDS.items()}
_PLAN_RE = {kind: re.compile("|".join(map(re.escape, words))) for kind, words in PLAN_KINDS.items()}
_ANY_PLAN = re.compile("|".join(map(re.escape, (w for ws in PLAN_KINDS.values() for w in ws))))
_ANY_SPECIAL = _words_re(w for ws in SPECIAL_NEEDS.values() for w in ws)


def _conditions(q: Query, text: str) -> None:
    low = text.lower()
    for kind, pattern in _SPECIAL_RE.items():
        if kind not in q.special and pattern.search(low):
            q.special.append(kind)
    for kind, pattern in _PLAN_RE.items():
        if kind not in q.plans and pattern.search(text):
            q.plans.append(kind)


def _locate(q: Query, text: str, plan: bool = False) -> None:
    """Read a place: where the firm is now, or, in a plan clause without a cue of the present, where it wants to go
    ("从高新区迁到泾河新城": both, split at the verb of moving)."""
    if m := _MOVE.search(text):
        _place(q, text[:m.start()], plan=False)
        _place(q, text[m.end():], plan=True)
    else:
        _place(q, text, plan)


def _place(q: Query, text: str, plan: bool) -> None:
    region, district = parse_region(text)
    if not (region or district) and (spoken := spoken_new_city(text)):
        region, district = "西咸新区", spoken  # "想在泾河找厂房": a new city by the short name officers say
    if plan and not _NOW_CUE.search(text):
        if not q.target:
            q.target = district or region or ""
        return
    if q.location:
        return
    if district or region:
        q.location, q.region = district or region or "", region or ""


def _need_items(clause: str) -> list[str]:
    m = _NEED_CUE.search(clause)
    rest = clause[m.end():] if m else clause
    rest = re.sub(r"^(的|找|寻找|物色|对接|引进|采购|购买|外购|进口|大量|稳定的?|长期|本地|就近|优质的?|一批|一些|上游|配套的?|供应商|"
                  r"供货商|厂家)+", "", rest)
    rest = re.sub(r"(供应商|供货商|厂家|配套企业|企业|供应|配套|采购)+$", "", rest)
    if m and not rest.strip() and m.group(0) in ("采购", "外购", "需要") and m.start() > 0:
        # "前驱体、碳酸锂要长期采购", "激光器和振镜外购", "断路器和互感器需要外购": the goods come before the verb
        rest = re.sub(r"(都|也|全|全部|主要|每年|常年|长期|大量|稳定|需要|要|想|得|订单|合同|是)+$", "", clause[:m.start()])
    # "找做PCB的和SMT贴片的": the maker of X is asked for X
    return [re.sub(r"^(?:做|生产|搞)?(.+?)的$", r"\1", x) if x.endswith("的") else x for x in _items(rest)]


def parse(query: str | dict[str, Any] | Query) -> Query:
    """Fields of a query: free text, a row or stored firm (``name``, ``products``, ``needs`` … keys), or a Query."""
    if isinstance(query, Query):
        return query
    if isinstance(query, dict):
        return _parse_record(query)
    return parse_text(str(query))


def _parse_record(firm: dict[str, Any]) -> Query:
    """A stored firm or spreadsheet row: its columns are the fields; its description adds plans and conditions."""
    description = normalize(firm.get("description") or "")
    q = Query(name=normalize(firm.get("name") or ""), business=description,
              products=_items(normalize(firm.get("products") or "").replace("；", "、").replace(";", "、")),
              needs=_items(normalize(firm.get("needs") or "").replace("；", "、").replace(";", "、")),
              location=firm.get("district") or "", region=firm.get("region") or "", target=firm.get("target") or "")
    if firm.get("id") is not None:
        try:
            q.firm_id = int(firm["id"])
        except (TypeError, ValueError):
            q.firm_id = None
    q.text = normalize("，".join(x for x in (q.name, "、".join(q.products), description, "、".join(q.needs)) if x))
    if description:
        _numbers(q, description)
        _conditions(q, description)
    return q


# An opener that names a kind of firm ("计量校准公司，…", "对方是网约车租赁公司，…"), and the words around its trade.
_KIND_OPENER = re.compile(r"^(?:呃|嗯|啊)?(?:对方|他们|她们|他家|它家)?(?:是)?"
                          r"((?:(?!一家|想|要|准备|打算|计划)[^，,:：。；;、的]){3,24}?(?:公司|企业|厂|集团))(?=[，,:：]|$)")
_KIND_AFFIXES = re.compile(r"^某|(?:公司|企业|厂|集团)$")


def _kind_of_firm(name: str) -> bool:
    """Whether a name-like opener only says what kind of firm it is: "某检测公司", "计量校准公司" (a trade of four or
    more characters and a bare 公司, no place) are read for their trade; a legal form (有限公司), a place (西安…) or a
    short brand (华为公司) is a name."""
    if name.startswith("某") and not name.startswith("某某"):
        return len(_KIND_AFFIXES.sub("", name)) >= 2
    if not name.endswith("公司") or re.search("有限|股份", name) or any(parse_region(name)) or spoken_new_city(name):
        return False
    return len(name) - 2 >= 4


def parse_text(raw: str) -> Query:
    """Free text: labelled sections first, then each clause by its cues."""
    q = Query(text=normalize(raw))
    kind = ""
    text = _STAGE_TAG.sub("", q.text, count=1).lstrip("，,：:| ")  # "【在谈】…": a project's stage, said first
    text = _OPENER.sub("", text, count=1).lstrip("，,：:| ")  # "上午去看了一家…": what follows is the firm
    if m := _FROM.match(text):  # "宝鸡过来的钛厂": where it comes from, then what it is
        _locate(q, m.group(1))
        text = text[m.end():]
    if m := _ANON.match(text):
        text_body = text[m.end():]
    elif (m := _KIND_OPENER.match(text)) and _kind_of_firm(m.group(1)):
        kind = _KIND_AFFIXES.sub("", m.group(1))  # "计量校准公司，…": its trade, said as a name
        text_body = text[m.end():].lstrip("，,：: ")
    elif (m := _LEAD_NAME.match(text)) and _NAME_END.search(m.group(1)) and not re.search("的|一家", m.group(1)):
        q.name = m.group(1)  # "某某(集团)股份有限公司，主营产品：…": the whole first segment is the name
        text_body = text[m.end():].lstrip("，,：: ")
    elif (m := _NAME.match(text)) and not re.search("的|一家", m.group(1)) and not text.startswith("旗下", m.end()):
        # ("杨凌的种业公司" describes a firm; "…集团旗下的X公司" is X, not the group)
        end = m.end()
        while (more := _LEGAL_TAIL.match(text, end)) is not None:  # 某集团 + 股份有限公司
            end = more.end()
        q.name = text[:end]
        text_body = text[end:].lstrip("，,：: ")
    elif (m := _SHORT_NAME.match(text)) and not _NOT_A_BRAND.match(m.group(1)):
        q.name = m.group(1)  # "瑞康生物，CDMO，…": a short name, then what the firm does
        text_body = text[m.end():].lstrip("，,：:|｜ ")
    else:
        text_body = text
    # Labelled sections ("主营产品：…；采购需求：…") say outright which field each part is.
    pieces: list[tuple[str | None, str]] = []
    last, field_name = 0, None
    for m in _SECTION.finditer(text_body):
        pieces.append((field_name, text_body[last:m.start()]))
        field_name, last = _SECTION_FIELD[m.group(1)], m.end()
    pieces.append((field_name, text_body[last:]))
    _numbers(q, text)
    for labelled, chunk in pieces:
        for clause in _CLAUSE.split(chunk):
            clause = clause.strip(" 、：:")
            if not clause:
                continue
            _clause(q, clause, labelled)
    # Conditions come from what the firm asks for, not from its products (电力变压器 is no power requirement).
    rest = text
    for item in sorted(q.products, key=len, reverse=True) + [p for p in (q.target, q.location) if p]:
        rest = rest.replace(item, " ")  # nor from a place's name (空港新城 is no need of air cargo)
    _conditions(q, rest)
    if kind:  # the trade the opener named, after what the clauses read (a 商贸公司 that 卖汽配 sells 汽配)
        q.business = f"{kind}，{q.business}" if q.business else kind
    if not q.products and not q.business:
        # Nothing read as a product: the text itself is the best evidence of what the firm does.
        q.business = _strip_product(text_body) or text_body
    return q


def _clause(q: Query, clause: str, labelled: str | None) -> None:
    if labelled == "other":
        return  # 存在问题/备注: conditions and plans in it are read from the whole text
    if labelled == "name":
        q.name = q.name or clause
        return
    if labelled == "free":
        labelled = None  # 企业情况: a note in the officer's words, read by its cues like unlabelled text
    if labelled == "needs":
        if _SITE_WORDS.search(clause) and not _goods(clause):
            return  # "诉求：50亩地、双回路供电": a site condition (read from the whole text), not goods to buy
        _add(q.needs, _need_items(clause))
        return
    if labelled == "customers":
        _add(q.customers, _items(clause))
        return
    if labelled in ("plan", "location"):
        _locate(q, clause, plan=labelled == "plan")
        if labelled == "location" and not q.location:
            q.location = clause[:30]  # said outright ("现所在地：经开区") though no table names the place
        return
    if labelled in ("products", "business") and (_REQUEST_START.match(clause) or _INPUT_LEAD.match(clause)
                                                 or _SOURCED.fullmatch(clause) or _CONSUMED.fullmatch(clause)
                                                 or _FOR_USE.fullmatch(clause)
                                                 or re.match(r"(给|为|向)", clause) and _CUSTOMER_CUE.match(clause)
                                                 or "需要" in clause and "、" not in clause and len(clause) <= 16):
        labelled = None  # "主营产品：A、B，需要扩产用地" / "…。原材料主要是X": the section's tail is a request or inputs
    if labelled in ("products", "business") and (m := _CUSTOMER_START.match(clause)):
        _add(q.customers, _items(clause[m.end():]))
        return  # "主营：钛焊管，供氯碱装置": who it is for
    if labelled in ("products", "business"):
        clause = _COMPONENTS.sub("", clause)
        items = [x for x in _items(clause, _LIST_ITEMS) if not (_NOISE.match(x) and re.search(r"\d", x))]  # "年销售额3亿"
        if labelled == "products" or len(items) > 1:
            _add(q.products, items)
        else:
            q.business = f"{q.business}，{clause}" if q.business else clause
        return
    # An unlabelled clause: decide by its cues.
    clause = _FILLER.sub("", clause).strip()
    if not clause:
        return
    if "的" in clause and (m := _TRADE_THEN_PLAN.search(clause)) and not _PLAN_CUE.search(clause, 0, m.start()):
        _clause(q, clause[:m.end()], None)
        _clause(q, clause[m.end():], None)
        return
    if (m := _TRADE_VERB.match(clause)) and not (q.products or q.business):
        # A trader's goods are its trade, said as such (汽配销售) so that it reads as sales, not as a maker; after the
        # firm's products, "主要卖电网巡线" says who buys them (read below as customers), "跑山区配送" where it serves.
        rest = re.sub(r"的$", "", clause[m.end():])
        if m.group(1):
            _add(q.products, [f"{x}销售" for x in _product_items(rest)])
        else:
            _clause(q, rest, None)
        return
    if m := _TEAM_PROJECT.match(clause):
        _add(q.products, _items(m.group(1)))
        return
    if m := _SIGNED.search(clause):  # "我区与某新能源汽车企业签订…项目合作协议": the firm's trade is in its name
        _add(q.products, _items(m.group(1)))
        return
    if any(w in clause for w in ("签约", "引进", "引入", "招引", "落地", "签下", "迎来")) and (m := _LANDED.match(clause)):
        _locate(q, m.group(1), plan=True)
        if m.group(3).strip():
            _clause(q, m.group(3), None)
        return
    if ("出口" in clause or "销" in clause or "卖到" in clause) and _MARKET.match(clause):
        return
    if "自" in clause and (m := _SELF_MADE.match(clause)):
        made = q.needs if m.group(2) else q.products  # "芯片不自己做": bought in; "原料透明质酸钠自产": made
        _add(made, _items(m.group(1) or m.group(3)))
        return
    if m := _CARRIED.match(clause):
        _add(q.customers, _items(m.group(1)))
        return
    if (m := _RAW.match(clause)) and not _SOURCED.fullmatch(clause):
        _add(q.needs, _items(m.group(1)))
        return
    if "商" in clause and (m := _TIER.match(clause)):
        _add(q.customers, _items(m.group(1)))
        return
    if "从" in clause and (m := _MOVE_FROM.search(clause)):
        _locate(q, m.group(2))
        q.location = q.location or m.group(2)
        if clause[m.end():].strip("过来了 "):  # "…搬到空港": where it goes
            _locate(q, clause[m.end():], plan=True)
        if not re.fullmatch(r"总部|公司|企业|工厂|厂|生产|研发|产线|生产线|基地|业务", m.group(1)):
            _clause(q, m.group(1), None)
        return
    if clause.endswith("客户") and (m := _BIG_CUSTOMER.match(clause)):
        _add(q.customers, _items(m.group(2)))
        if m.group(1).strip():
            _clause(q, m.group(1), None)
        return
    if m := _OUTPUT.match(clause):  # "年产20万辆纯电乘用车": the product after the figure
        if m.group(1).strip():
            _clause(q, m.group(1), None)
        return
    if m := _THEIR_CUSTOMERS.fullmatch(clause):
        _add(q.customers, _items(m.group(1)))
        return  # "物流、电力客户"
    if re.search(r"过来(的)?$", clause) and not _goods(clause):
        _locate(q, clause)
        return  # "宝鸡过来"
    if m := _PRODUCT_CUE.search(clause):
        rest = clause[m.end():]
        _add(q.products, _product_items(re.sub(r"等$", "", rest)))
        return  # "主要产品包括A、B及C": said outright
    if _STATUS.search(clause):
        if _LOCATION_CUE.search(clause):
            _locate(q, clause, plan=bool(_PLAN_CUE.search(clause)))
        return  # the firm's state or the deal ("订单饱和", "环评是关键", "在谈B轮"), not what it makes
    if _PUT.search(clause) and not _goods(clause):
        _locate(q, clause, plan=True)
        return  # "生产想放西咸": where a part of the firm is to go
    site = _SITE_WORDS.search(clause)
    if m := _PLACE_LEAD.match(clause):
        place, suffixed, before = m.group(1) or m.group(4) or m.group(7) or m.group(10), bool(m.group(2) or m.group(4)), q.location
        if not q.location:
            _locate(q, place)
            if not q.location and suffixed:
                q.location = place  # "经开区": a place by its suffix, though no table says which city's
        if suffixed or q.location != before:  # the lead is a place ("想贴近一家…" is not)
            rest = clause[m.end():]
            if _JUST_FIRM.match(rest):
                return  # "西安高新区企业": only where the firm is
            clause = rest  # the place is read: what follows is the firm ("一家做…的企业") and its trade
    if _LOCATION_CUE.search(clause) and not _NEED_CUE.search(clause):
        _locate(q, clause, plan=bool(_PLAN_CUE.search(clause)))
        # "在泾河新城做光伏支架的": the place, then what the firm does there
        rest = _PLACE_PHRASE.sub("", clause, count=1).strip()
        lead = _LEAD.match(rest)  # every part of the lead is optional: it matches, possibly empty
        if rest != clause and lead is not None and lead.group(0) and not _PLAN_CUE.match(rest):
            _clause(q, rest, None)
        return
    if (m := _SOURCED.fullmatch(clause)) and not _PRODUCT_CUE.search(clause):
        _add(q.needs, _items(m.group(1) or m.group(2)))
        return  # "磁钢靠外地", "电池和电机都从深圳买", "奶源不够", "希望本地有玻璃和边框配套": goods it lacks
    if m := _INPUT_CUE.search(clause):
        bought = clause[m.end():].strip()
        rest = clause[:m.start()].strip()
        if not bought and not m.group(1):  # "COB光源外采": what is bought comes before the cue
            bought, rest = re.sub(r"(全部|全|都|也|基本|大多|是)+$", "", rest), ""  # "屏、主控芯片全外采"
        _add(q.needs, _items(bought))
        # "原材料主要是…" may follow the product in one clause; "机身部分用钛合金件" names a part, not a product
        if rest and (m.group(1) or len(rest) >= 4):
            _clause(q, rest, None)
        return
    if m := _CONSUMED.fullmatch(clause):
        _add(q.needs, _items(m.group(1)))
        return
    if m := _FOR_USE.fullmatch(clause):
        _add(q.customers, _items(m.group(1)))
        return
    if m := _USED_BY.fullmatch(clause):
        _add(q.customers, _items(m.group(1)))
        return  # "化工换热器用的多": who uses it
    if (m := _SUPPLIED.fullmatch(clause)) and not _NEED_CUE.search(clause) and not _PLAN_CUE.search(clause):
        _add(q.customers, _items(m.group(1)))
        return  # "乘用车配套": who it supplies
    if m := _CUSTOMER_CUE.search(clause):
        who = m.group(2) or clause[m.end():]
        _add(q.customers, _items(who))
        if m.group(2) and m.group(3) in ("做", "加工", "提供", "配套", "供应", "供货") and clause[m.end():].strip():
            _clause(q, clause[m.end():], None)  # "给卫星做太阳翼": what it makes for them follows
        rest = clause[:m.start()].strip()
        if rest and not _PLAN_CUE.match(rest) and not _ADVERB.fullmatch(rest):
            _add(q.products, _items(_strip_product(rest)))
        return
    if _PLAN_START.match(clause) and not _goods(clause):
        _locate(q, clause, plan=True)
        return  # "想在咸阳找块地建整车基地": a plan, its place and site, not goods to buy
    if _NEED_CUE.search(clause):
        if site or _ANY_SPECIAL.search(clause.lower()) and not _goods(clause):
            _locate(q, clause, plan=True) if _LOCATION_CUE.search(clause) else None
            return  # a site or service condition, already read into land/plant/special
        _add(q.needs, _need_items(clause))
        return
    cue = _PLAN_CUE.search(clause)
    if _PLAN_CUE.match(clause) or cue and (_ANY_PLAN.search(clause) and not q.products
                                           or _ANY_PLAN.search(clause, cue.end())):  # "示范项目想就近落地"
        _locate(q, clause, plan=True)
        return
    if site or _NOISE.match(clause) or re.fullmatch(r"[\d.,，万亿元人名个年月日%％\s]+", clause):
        return
    if re.search(r"(外溢|从.{1,10}(过来|出来|迁|搬)|主城|总部在)", clause) and not _goods(clause):
        _locate(q, clause)
        return
    bare = _COMPONENTS.sub("", _strip_product(clause))
    product = re.sub(r"(也做|也有|也生产|都有|都做|都能做|为主)$", "", bare.replace("(", "、").replace(")", "、"))
    if product:
        items = [x for x in _product_items(product) if not _FIRM_KIND.fullmatch(x)]
        if len(items) > 1 or len(product) <= 24:
            _add(q.products, items)
        else:
            q.business = f"{q.business}，{product}" if q.business else product
    _locate(q, clause) if _LOCATION_CUE.search(clause) else None


def _goods(clause: str) -> bool:
    """Whether a need clause names goods to buy (materials, parts) rather than only site conditions."""
    return bool(re.search(r"(材料|原料|零部件|部件|元器件|芯片|设备|配件|组件|模块|试剂|包材|包装|辅料|外协|加工|零件|铸件|锻件|紧固件|"
                          r"标准件)", clause))
