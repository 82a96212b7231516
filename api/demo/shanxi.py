"""Shanxi (山西省, 140000): its 11 cities and their 117 counties and districts, GB/T 2260.

The demo pools residents at city level (市级统筹, docs/domain.md §1): each city holds one
``resident`` fund and its counties hold none, so a county is only a dimension on the city
fund's postings. The codes are the current GB/T 2260 codes (after the 2018-2019 reforms:
大同 平城/云冈/云州, 长治 潞州/上党/屯留/潞城, 晋中 太谷区, 朔州 怀仁市); the development zones
with codes of their own (140171, 140271...) are left out because they enrol no residents of
their own.

``enrolled`` is an estimate of the residents enrolled in the resident scheme in 2022 (about
25 million for the province, a little over two thirds of the population; urban districts
enrol fewer because more of their people are in the employee scheme). The demo jitters it by
seed; it is not an official figure.
"""

from __future__ import annotations

from dataclasses import dataclass

PROVINCE = "140000"
PROVINCE_NAME = "山西省"
ADJUSTMENT_FUND_NAME = "山西省城乡居民基本医疗保险省级调剂金"


@dataclass(frozen=True)
class County:
    """A county or district: its code, name and 2022 enrolment estimate (persons)."""

    code: str
    name: str
    enrolled: int


@dataclass(frozen=True)
class City:
    """A city (市), the pooling area: one resident fund for all its counties."""

    code: str
    name: str
    counties: tuple[County, ...]

    @property
    def fund_name(self) -> str:
        """The fund's name as it heads the city's statements."""
        return f"{self.name}城乡居民医保基金"


def _counties(rows: str) -> tuple[County, ...]:
    """Parse ``code name thousands`` rows (enrolment in thousands keeps the table short)."""
    counties = []
    for row in rows.strip().splitlines():
        code, name, thousands = row.split()
        counties.append(County(code, name, int(thousands) * 1_000))
    return tuple(counties)


CITIES: tuple[City, ...] = (
    City(
        "140100",
        "太原市",
        _counties("""
        140105 小店区 330
        140106 迎泽区 170
        140107 杏花岭区 190
        140108 尖草坪区 200
        140109 万柏林区 230
        140110 晋源区 140
        140121 清徐县 250
        140122 阳曲县 110
        140123 娄烦县 85
        140181 古交市 150
    """),
    ),
    City(
        "140200",
        "大同市",
        _counties("""
        140212 新荣区 80
        140213 平城区 420
        140214 云冈区 230
        140215 云州区 130
        140221 阳高县 220
        140222 天镇县 170
        140223 广灵县 160
        140224 灵丘县 200
        140225 浑源县 280
        140226 左云县 100
    """),
    ),
    City(
        "140300",
        "阳泉市",
        _counties("""
        140302 城区 90
        140303 矿区 70
        140311 郊区 170
        140321 平定县 230
        140322 盂县 240
    """),
    ),
    City(
        "140400",
        "长治市",
        _counties("""
        140403 潞州区 300
        140404 上党区 280
        140405 屯留区 220
        140406 潞城区 170
        140423 襄垣县 200
        140425 平顺县 130
        140426 黎城县 130
        140427 壶关县 230
        140428 长子县 300
        140429 武乡县 150
        140430 沁县 130
        140431 沁源县 120
    """),
    ),
    City(
        "140500",
        "晋城市",
        _counties("""
        140502 城区 150
        140521 沁水县 160
        140522 阳城县 300
        140524 陵川县 190
        140525 泽州县 400
        140581 高平市 380
    """),
    ),
    City(
        "140600",
        "朔州市",
        _counties("""
        140602 朔城区 330
        140603 平鲁区 130
        140621 山阴县 170
        140622 应县 260
        140623 右玉县 80
        140681 怀仁市 250
    """),
    ),
    City(
        "140700",
        "晋中市",
        _counties("""
        140702 榆次区 330
        140703 太谷区 220
        140721 榆社县 100
        140722 左权县 130
        140723 和顺县 110
        140724 昔阳县 170
        140725 寿阳县 170
        140727 祁县 210
        140728 平遥县 380
        140729 灵石县 200
        140781 介休市 300
    """),
    ),
    City(
        "140800",
        "运城市",
        _counties("""
        140802 盐湖区 560
        140821 临猗县 450
        140822 万荣县 330
        140823 闻喜县 310
        140824 稷山县 270
        140825 新绛县 270
        140826 绛县 220
        140827 垣曲县 190
        140828 夏县 290
        140829 平陆县 210
        140830 芮城县 330
        140881 永济市 340
        140882 河津市 290
    """),
    ),
    City(
        "140900",
        "忻州市",
        _counties("""
        140902 忻府区 420
        140921 定襄县 180
        140922 五台县 250
        140923 代县 180
        140924 繁峙县 220
        140925 宁武县 140
        140926 静乐县 130
        140927 神池县 90
        140928 五寨县 90
        140929 岢岚县 70
        140930 河曲县 120
        140931 保德县 130
        140932 偏关县 80
        140981 原平市 390
    """),
    ),
    City(
        "141000",
        "临汾市",
        _counties("""
        141002 尧都区 650
        141021 曲沃县 200
        141022 翼城县 260
        141023 襄汾县 380
        141024 洪洞县 620
        141025 古县 75
        141026 安泽县 70
        141027 浮山县 100
        141028 吉县 85
        141029 乡宁县 190
        141030 大宁县 55
        141031 隰县 90
        141032 永和县 55
        141033 蒲县 85
        141034 汾西县 120
        141081 侯马市 190
        141082 霍州市 230
    """),
    ),
    City(
        "141100",
        "吕梁市",
        _counties("""
        141102 离石区 250
        141121 文水县 340
        141122 交城县 190
        141123 兴县 240
        141124 临县 520
        141125 柳林县 280
        141126 石楼县 100
        141127 岚县 150
        141128 方山县 120
        141129 中阳县 130
        141130 交口县 95
        141181 孝义市 380
        141182 汾阳市 340
    """),
    ),
)
"""The 11 cities of Shanxi, 太原 140100 to 吕梁 141100, in code order."""
