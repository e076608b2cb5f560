"""Language names and codes: ISO 639-1 (the two-letter codes, with their English names).

A guide's ``language`` (``sessions/guide.py``) is checked against this list: a code (``es``),
a code with a region (``pt-BR``, ``en_GB``: BCP 47's language-region form) or an English name
(``Spanish``, case-insensitive). :func:`normalize_language` returns the code (with its region,
as ``pt-BR``), which is what HTML's ``lang`` attribute wants; anything else is refused with
the reason. The list is ISO 639-1 as published by the Library of Congress (183 codes); a few
common alternative names (``Farsi``, ``Castilian``, ``Flemish``…) are accepted too.
"""

from __future__ import annotations

import re

ISO_639_1: dict[str, str] = dict(
    pair.replace("_", " ").split(":", 1)
    for pair in (
        "aa:Afar ab:Abkhazian ae:Avestan af:Afrikaans ak:Akan am:Amharic an:Aragonese ar:Arabic "
        "as:Assamese av:Avaric ay:Aymara az:Azerbaijani ba:Bashkir be:Belarusian bg:Bulgarian "
        "bi:Bislama bm:Bambara bn:Bengali bo:Tibetan br:Breton bs:Bosnian ca:Catalan ce:Chechen "
        "ch:Chamorro co:Corsican cr:Cree cs:Czech cu:Church_Slavic cv:Chuvash cy:Welsh da:Danish "
        "de:German dv:Divehi dz:Dzongkha ee:Ewe el:Greek en:English eo:Esperanto es:Spanish "
        "et:Estonian eu:Basque fa:Persian ff:Fulah fi:Finnish fj:Fijian fo:Faroese fr:French "
        "fy:Western_Frisian ga:Irish gd:Scottish_Gaelic gl:Galician gn:Guarani gu:Gujarati gv:Manx "
        "ha:Hausa he:Hebrew hi:Hindi ho:Hiri_Motu hr:Croatian ht:Haitian hu:Hungarian hy:Armenian "
        "hz:Herero ia:Interlingua id:Indonesian ie:Interlingue ig:Igbo ii:Sichuan_Yi ik:Inupiaq "
        "io:Ido is:Icelandic it:Italian iu:Inuktitut ja:Japanese jv:Javanese ka:Georgian "
        "kg:Kongo ki:Kikuyu kj:Kuanyama kk:Kazakh kl:Kalaallisut km:Khmer kn:Kannada ko:Korean "
        "kr:Kanuri ks:Kashmiri ku:Kurdish kv:Komi kw:Cornish ky:Kyrgyz la:Latin lb:Luxembourgish "
        "lg:Ganda li:Limburgish ln:Lingala lo:Lao lt:Lithuanian lu:Luba-Katanga lv:Latvian "
        "mg:Malagasy mh:Marshallese mi:Maori mk:Macedonian ml:Malayalam mn:Mongolian mr:Marathi "
        "ms:Malay mt:Maltese my:Burmese na:Nauru nb:Norwegian_Bokmal nd:North_Ndebele ne:Nepali "
        "ng:Ndonga nl:Dutch nn:Norwegian_Nynorsk no:Norwegian nr:South_Ndebele nv:Navajo "
        "ny:Chichewa oc:Occitan oj:Ojibwa om:Oromo or:Oriya os:Ossetian pa:Punjabi pi:Pali "
        "pl:Polish ps:Pashto pt:Portuguese qu:Quechua rm:Romansh rn:Rundi ro:Romanian ru:Russian "
        "rw:Kinyarwanda sa:Sanskrit sc:Sardinian sd:Sindhi se:Northern_Sami sg:Sango si:Sinhala "
        "sk:Slovak sl:Slovenian sm:Samoan sn:Shona so:Somali sq:Albanian sr:Serbian ss:Swati "
        "st:Southern_Sotho su:Sundanese sv:Swedish sw:Swahili ta:Tamil te:Telugu tg:Tajik th:Thai "
        "ti:Tigrinya tk:Turkmen tl:Tagalog tn:Tswana to:Tonga tr:Turkish ts:Tsonga tt:Tatar "
        "tw:Twi ty:Tahitian ug:Uyghur uk:Ukrainian ur:Urdu uz:Uzbek ve:Venda vi:Vietnamese "
        "vo:Volapuk wa:Walloon wo:Wolof xh:Xhosa yi:Yiddish yo:Yoruba za:Zhuang zh:Chinese zu:Zulu"
    ).split()
)
"""ISO 639-1 code → English name."""

_ALIASES = {
    "farsi": "fa",
    "castilian": "es",
    "flemish": "nl",
    "mandarin": "zh",
    "filipino": "tl",
    "moldavian": "ro",
    "moldovan": "ro",
    "bokmal": "nb",
    "bokmål": "nb",
    "nynorsk": "nn",
    "gaelic": "gd",
    "panjabi": "pa",
    "pushto": "ps",
    "sinhalese": "si",
    "uighur": "ug",
    "kirghiz": "ky",
    "letzeburgesch": "lb",
    "valencian": "ca",
}
_BY_NAME = {name.lower(): code for code, name in ISO_639_1.items()} | _ALIASES
_TAG = re.compile(r"^([A-Za-z]{2})(?:[-_]([A-Za-z]{2}|[0-9]{3}|[A-Za-z]{4}))?$")


def normalize_language(value: str) -> str:
    """``"es"``, ``"ES"``, ``"pt_br"``, ``"Spanish"`` → ``"es"`` / ``"pt-BR"``; ValueError otherwise."""
    text = value.strip()
    match = _TAG.match(text)
    if match:
        code = match.group(1).lower()
        if code in ISO_639_1:
            region = match.group(2)
            if region is None:
                return code
            region = region.title() if len(region) == 4 else region.upper()  # a script: Latn
            return f"{code}-{region}"
        raise ValueError(f"{text!r} is not an ISO 639-1 language code (e.g. 'en', 'es', 'pt-BR')")
    code = _BY_NAME.get(text.lower())
    if code is None:
        shown = text if len(text) <= 40 else text[:40] + "…"
        raise ValueError(f"unknown language {shown!r}: use an ISO 639-1 code ('en', 'es', 'pt-BR') or its English name")
    return code


def language_name(code: str) -> str:
    """The English name of a code from :func:`normalize_language` (``pt-BR`` → ``Portuguese``)."""
    return ISO_639_1.get(code.split("-", 1)[0].lower(), code)
