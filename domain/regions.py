"""Regions: 6-digit administrative division codes (GB/T 2260), docs/domain.md §1.

``140000`` is a province, ``140100`` a city (市/州), ``140105`` a county or district.
"""

from __future__ import annotations

import re
from enum import StrEnum

from domain.errors import InvalidInput

PROVINCES: dict[str, str] = {
    "110000": "北京市",
    "120000": "天津市",
    "130000": "河北省",
    "140000": "山西省",
    "150000": "内蒙古自治区",
    "210000": "辽宁省",
    "220000": "吉林省",
    "230000": "黑龙江省",
    "310000": "上海市",
    "320000": "江苏省",
    "330000": "浙江省",
    "340000": "安徽省",
    "350000": "福建省",
    "360000": "江西省",
    "370000": "山东省",
    "410000": "河南省",
    "420000": "湖北省",
    "430000": "湖南省",
    "440000": "广东省",
    "450000": "广西壮族自治区",
    "460000": "海南省",
    "500000": "重庆市",
    "510000": "四川省",
    "520000": "贵州省",
    "530000": "云南省",
    "540000": "西藏自治区",
    "610000": "陕西省",
    "620000": "甘肃省",
    "630000": "青海省",
    "640000": "宁夏回族自治区",
    "650000": "新疆维吾尔自治区",
}
"""The 31 provincial-level divisions of the mainland, each with its own ledger partition."""

_CODE = re.compile(r"[0-9]{6}")


class RegionLevel(StrEnum):
    """The administrative level a region code stands for."""

    PROVINCE = "province"
    CITY = "city"
    COUNTY = "county"


def is_region_code(text: str) -> bool:
    """True when ``text`` is exactly six ASCII digits (nothing before or after)."""
    return _CODE.fullmatch(text) is not None


def check_region(code: str, *, field: str = "region") -> str:
    """Return ``code`` if it is a 6-digit code inside a known province, else refuse it."""
    if not is_region_code(code):
        raise InvalidInput(f"{code!r} is not a 6-digit region code (GB/T 2260)", field=field)
    if province_of(code) not in PROVINCES:
        raise InvalidInput(f"{code!r} is in no known province", field=field)
    if level_of(code) is not RegionLevel.PROVINCE and code[2:4] == "00":
        raise InvalidInput(f"{code!r} is not a valid region code", field=field)
    return code


def province_of(code: str) -> str:
    """The province a region code lies in: ``140105`` → ``140000``."""
    return code[:2] + "0000"


def city_of(code: str) -> str:
    """The city (prefecture) a region code lies in: ``140105`` → ``140100``."""
    return code[:4] + "00"


def level_of(code: str) -> RegionLevel:
    """The level of a region code, by its trailing zeros."""
    if code.endswith("0000"):
        return RegionLevel.PROVINCE
    if code.endswith("00"):
        return RegionLevel.CITY
    return RegionLevel.COUNTY


def contains(outer: str, inner: str) -> bool:
    """True when region ``inner`` lies inside region ``outer`` (and is not ``outer`` itself)."""
    if outer == inner:
        return False
    level = level_of(outer)
    if level is RegionLevel.PROVINCE:
        return inner[:2] == outer[:2]
    if level is RegionLevel.CITY:
        return inner[:4] == outer[:4]
    return False
