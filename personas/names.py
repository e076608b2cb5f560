"""Names for generated personas: a plausibility check and a seeded fallback by country.

The population factory asks the model for a name that fits the persona's country, gender and
age. This module judges the answer (:func:`plausible_name`: two to four words of letters, the
first and last capitalised, no digits or punctuation beyond ``' - .``) and, when the model's
name is implausible or already taken even after a retry (and always with the scripted backend,
whose text is generic), supplies a common name for the country from a small built-in bank
(:func:`fallback_name`), deterministic per seed. Countries outside the bank get an
international mix.
"""

from __future__ import annotations

import random
import re
from collections.abc import Container

from troupe.core.slugs import slugify

# country → (female given names, male given names, family names). Common, not exhaustive.
_BANK: dict[str, tuple[str, str, str]] = {
    "united kingdom": (
        "Olivia Amelia Emily Sophie Jessica Charlotte Hannah Lucy Claire Helen Sarah Rachel Margaret Susan",
        "Oliver George Harry Jack James Thomas William Daniel Matthew David Paul Andrew Richard Stephen",
        "Smith Jones Taylor Brown Williams Wilson Davies Evans Thomas Johnson Roberts Walker Wright Robinson Hughes Clarke",
    ),
    "ireland": (
        "Aoife Siobhán Niamh Ciara Orla Mary Sinéad Gráinne Emma Aisling",
        "Seán Liam Conor Patrick Cian Declan Eoin Pádraig Michael Niall",
        "Murphy Kelly O'Sullivan Walsh O'Brien Byrne Ryan O'Connor Doyle McCarthy Gallagher Kennedy",
    ),
    "united states": (
        "Jennifer Emily Ashley Jessica Sarah Maria Linda Patricia Megan Brittany Olivia Madison",
        "Michael Christopher James Robert David John Joshua Tyler Anthony Kevin Brandon Jose",
        "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Wilson Anderson Thomas Moore Jackson",
    ),
    "canada": (
        "Emma Olivia Sophie Chloe Emily Isabelle Megan Julie Sarah Nathalie",
        "Liam Noah Ethan Lucas Mathieu Ryan Justin Connor Alexandre Daniel",
        "Smith Brown Tremblay Martin Roy Wilson MacDonald Gagnon Taylor Campbell Anderson Leblanc",
    ),
    "australia": (
        "Charlotte Olivia Amelia Chloe Emily Jessica Sarah Kylie Rebecca Megan",
        "Jack William Oliver Noah Lachlan Thomas Liam Joshua Mitchell Benjamin",
        "Smith Jones Williams Brown Wilson Taylor Nguyen Johnson Martin White Anderson Kelly",
    ),
    "spain": (
        "María Carmen Lucía Laura Marta Ana Cristina Elena Paula Rocío Isabel Pilar",
        "Antonio José Manuel Francisco David Javier Daniel Carlos Pablo Alejandro Sergio Miguel",
        "García Rodríguez González Fernández López Martínez Sánchez Pérez Gómez Martín Jiménez Ruiz Hernández Díaz Moreno",
    ),
    "mexico": (
        "Guadalupe María Fernanda Sofía Daniela Alejandra Verónica Gabriela Valeria Ximena",
        "José Juan Luis Carlos Jorge Miguel Alejandro Diego Eduardo Ricardo",
        "Hernández García Martínez López González Rodríguez Pérez Sánchez Ramírez Cruz Flores Gómez",
    ),
    "france": (
        "Camille Julie Marie Nathalie Sophie Isabelle Chloé Manon Léa Claire Aurélie Sandrine",
        "Thomas Nicolas Julien Pierre Jean Antoine Lucas Hugo Mathieu Philippe Laurent Sébastien",
        "Martin Bernard Dubois Thomas Robert Richard Petit Durand Leroy Moreau Simon Laurent Lefebvre Michel",
    ),
    "germany": (
        "Anna Julia Laura Lena Katharina Sabine Petra Claudia Sarah Lisa Monika Stefanie",
        "Thomas Michael Andreas Stefan Jan Lukas Felix Markus Tobias Christian Wolfgang Jonas",
        "Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann Koch Richter Klein Wolf",
    ),
    "italy": (
        "Giulia Francesca Chiara Sara Martina Valentina Elena Alessandra Federica Paola",
        "Marco Alessandro Andrea Luca Giuseppe Francesco Matteo Lorenzo Davide Stefano",
        "Rossi Russo Ferrari Esposito Bianchi Romano Colombo Ricci Marino Greco Bruno Gallo",
    ),
    "netherlands": (
        "Anne Emma Sanne Lisa Femke Sophie Eva Linda Marieke Inge",
        "Daan Bram Thijs Sem Lucas Jeroen Pieter Sander Ruben Martijn",
        "de Jong Jansen de Vries van den Berg van Dijk Bakker Janssen Visser Smit Meijer de Boer Mulder",
    ),
    "sweden": (
        "Anna Eva Maria Karin Sara Emma Elin Ingrid Linnea Maja",
        "Lars Erik Anders Johan Karl Per Nils Oskar Magnus Henrik",
        "Andersson Johansson Karlsson Nilsson Eriksson Larsson Olsson Persson Svensson Gustafsson Lindberg Berg",
    ),
    "poland": (
        "Anna Katarzyna Maria Agnieszka Magdalena Joanna Zofia Ewa Marta Aleksandra",
        "Piotr Krzysztof Tomasz Paweł Marcin Jakub Michał Adam Łukasz Kamil",
        "Nowak Kowalski Wiśniewski Wójcik Kowalczyk Kamiński Lewandowski Zieliński Szymański Woźniak",
    ),
    "portugal": (
        "Maria Ana Beatriz Inês Mariana Sofia Catarina Joana Rita Leonor",
        "João José Francisco Tiago Rui Pedro Miguel Diogo Nuno Duarte",
        "Silva Santos Ferreira Pereira Oliveira Costa Rodrigues Martins Sousa Fernandes Gonçalves Gomes",
    ),
    "brazil": (
        "Ana Juliana Fernanda Camila Mariana Beatriz Larissa Patricia Leticia Gabriela",
        "João Lucas Pedro Gabriel Rafael Matheus Felipe Thiago Bruno Rodrigo",
        "Silva Santos Oliveira Souza Lima Pereira Ferreira Costa Rodrigues Almeida Carvalho Ribeiro",
    ),
    "india": (
        "Priya Ananya Divya Kavya Neha Pooja Lakshmi Sunita Meera Aditi Shreya Deepa",
        "Rahul Arjun Vikram Amit Rohan Sanjay Ravi Karthik Suresh Aditya Anil Vijay",
        "Sharma Patel Singh Kumar Gupta Reddy Iyer Nair Rao Das Mehta Joshi Menon Verma",
    ),
    "china": (
        "Fang Na Min Jing Mei Xia Ying Lan Hui Yan",
        "Wei Qiang Lei Jun Hao Tao Gang Bin Jie Ming",
        "Wang Li Zhang Liu Chen Yang Huang Zhao Wu Zhou Xu Sun",
    ),
    "japan": (
        "Yuki Aiko Haruka Sakura Yui Miho Naoko Keiko Emi Ayaka",
        "Hiroshi Takashi Kenji Daisuke Yuto Haruto Satoshi Kazuki Ryo Shota",
        "Sato Suzuki Takahashi Tanaka Watanabe Ito Yamamoto Nakamura Kobayashi Kato Yoshida Yamada",
    ),
    "south korea": (
        "Ji-woo Seo-yeon Min-ji Soo-jin Hye-jin Eun-ji Yu-na Ji-hye",
        "Min-jun Ji-hoon Seo-jun Hyun-woo Dong-hyun Jae-won Sung-min Tae-yang",
        "Kim Lee Park Choi Jung Kang Cho Yoon Jang Lim",
    ),
    "nigeria": (
        "Chiamaka Ngozi Aisha Funke Adaeze Blessing Fatima Yetunde Amaka Zainab",
        "Chukwuemeka Oluwaseun Ibrahim Emeka Tunde Musa Chinedu Babajide Abdullahi Ifeanyi",
        "Okafor Adeyemi Okonkwo Bello Eze Abubakar Olawale Nwosu Ogunleye Mohammed",
    ),
    "ghana": (
        "Ama Akosua Abena Efua Adwoa Yaa Afia Esi",
        "Kwame Kofi Kwabena Yaw Kojo Kwaku Kwesi Kobina",
        "Mensah Owusu Boateng Asante Osei Appiah Agyeman Darko Acheampong Ofori",
    ),
    "kenya": (
        "Wanjiru Achieng Njeri Akinyi Mumbi Nyambura Atieno Wambui",
        "Kamau Otieno Mwangi Kiprono Omondi Njoroge Kipchoge Wekesa",
        "Mwangi Otieno Kamau Wanjala Kariuki Ochieng Kiprotich Njoroge Mutua Odhiambo",
    ),
    "south africa": (
        "Thandiwe Nomvula Lerato Zanele Anele Michelle Nicole Palesa",
        "Sipho Thabo Johan Bongani Lwazi Pieter Tshepo Mandla",
        "Nkosi Dlamini Ndlovu Botha van der Merwe Mokoena Khumalo Naidoo Smith Mahlangu",
    ),
    "morocco": (
        "Fatima Khadija Amina Salma Meryem Nadia Zineb Hajar",
        "Mohamed Youssef Ahmed Hamza Omar Karim Mehdi Rachid",
        "Alaoui Benali El Idrissi Bennani Tazi Chraibi Berrada Amrani Haddad Fassi",
    ),
    "turkey": (
        "Zeynep Elif Ayşe Fatma Emine Merve Esra Hatice",
        "Mehmet Mustafa Ahmet Ali Hüseyin Emre Burak Murat",
        "Yılmaz Kaya Demir Şahin Çelik Yıldız Yıldırım Öztürk Aydın Arslan",
    ),
}
_FAMILY_FIRST = {"china", "japan", "south korea"}
"""Written family name first in the country's own order (``Wang Fang``)."""

_ALIASES = {
    "uk": "united kingdom",
    "england": "united kingdom",
    "scotland": "united kingdom",
    "wales": "united kingdom",
    "great britain": "united kingdom",
    "britain": "united kingdom",
    "northern ireland": "united kingdom",
    "usa": "united states",
    "us": "united states",
    "u.s.": "united states",
    "united states of america": "united states",
    "america": "united states",
    "deutschland": "germany",
    "españa": "spain",
    "espana": "spain",
    "the netherlands": "netherlands",
    "holland": "netherlands",
    "korea": "south korea",
    "republic of korea": "south korea",
    "brasil": "brazil",
    "türkiye": "turkey",
    "turkiye": "turkey",
    "prc": "china",
    "people's republic of china": "china",
}

# Countries outside the bank: a deliberately international mix.
_GENERIC = (
    "Anna Maria Sara Laura Elena Nadia Amira Lina Mia Nora",
    "David Daniel Adam Samuel Omar Lucas Leo Marco Ivan Karim",
    "Novak Haddad Costa Petrov Jensen Moreau Okafor Nguyen Rossi Kovac Silva Mensah",
)

_NAME = re.compile(r"^[^\W\d_]+(?:[ '\-.][^\W\d_]*)*$")


def plausible_name(name: str) -> bool:
    """Two to four words of letters (``' - .`` allowed inside), first and last capitalised,
    in the Latin alphabet (accents are fine; the slug, which names the file, folds them).

    Lower-case particles in between pass (``Anne van den Berg``); so do a leading particle's
    capitalised family names (``Pieter de Jong`` — the last word counts). Single words,
    digits, sentences and overlong strings do not.
    """
    text = " ".join(name.split())
    words = text.split(" ")
    if not 2 <= len(words) <= 4 or len(text) > 40 or not _NAME.match(text):
        return False
    if len(slugify(text).replace("-", "")) < 4:  # Latin script: the file name is the slug
        return False
    return words[0][:1].isupper() and words[-1][:1].isupper()


def clean_name(name: str) -> str:
    """Collapse whitespace and strip stray quotes/punctuation around a model's name."""
    return " ".join(name.strip().strip("\"'“”.,;:").split())


def country_key(country: str | None) -> str | None:
    """The bank's key for a country as a spec or residence writes it, or ``None``."""
    if not country:
        return None
    key = " ".join(country.strip().lower().split())
    key = _ALIASES.get(key, key)
    return key if key in _BANK else None


def fallback_name(country: str | None, gender: str | None, taken: Container[str], rng: random.Random) -> str:
    """A common name for the country and gender whose slug is not in ``taken``.

    Draws given × family combinations at random; once the bank's combinations run short, adds
    a second given name so a name is always found.
    """
    female, male, family = _BANK.get(country_key(country) or "", _GENERIC)
    g = (gender or "").strip().lower()
    if g.startswith(("f", "w")):
        given = female.split()
    elif g.startswith("m"):
        given = male.split()
    else:
        given = female.split() + male.split()
    families = _split_family(family)
    order_family_first = country_key(country) in _FAMILY_FIRST
    for attempt in range(400):
        first = rng.choice(given)
        last = rng.choice(families)
        if attempt >= 200:  # the plain combinations are crowded: add a middle name
            first = f"{first} {rng.choice(given)}"
        name = f"{last} {first}" if order_family_first else f"{first} {last}"
        if slugify(name) not in taken:
            return name
    n = 2
    while slugify(f"{name} {n}") in taken:  # pragma: no cover - thousands of identical draws
        n += 1
    return f"{name} {n}"


def _split_family(text: str) -> list[str]:
    """Family names, keeping particles with their name (``de Jong``, ``van der Merwe``)."""
    out: list[str] = []
    pending: list[str] = []
    for word in text.split():
        if word[:1].islower():
            pending.append(word)
            continue
        out.append(" ".join([*pending, word]))
        pending = []
    return out
