"""The synthetic world the RLM benchmark's texts are written in.

Word lists, name makers, the line formats of records and facts, and the instance wording
of each label. The generators write texts in these formats; the oracle sub-model reads
them; the scripted root models only know the question forms of :mod:`.questions` and, in
their code-only mode, the phrasing of the two fact sentences below.

Texts are built from short word lists on purpose: generating four million characters must
take well under a second, and no filler sentence may look like a fact or a question.
"""

from __future__ import annotations

import math
import random
import re
from typing import Final

CHARS_PER_TOKEN: Final = 4
"""The benchmark's token convention: about four characters per token."""


def tokens_of(text: str | int) -> int:
    """Tokens in a text (or a character count) under :data:`CHARS_PER_TOKEN`."""
    chars = text if isinstance(text, int) else len(text)
    return math.ceil(chars / CHARS_PER_TOKEN)


# -- filler ---------------------------------------------------------------------------------

_SUBJECTS = (
    "The quiet harbour",
    "A tired ferryman",
    "The northern market",
    "An old lighthouse",
    "The village choir",
    "A patient baker",
    "The river barge",
    "A young cartographer",
    "The mountain inn",
    "A travelling tailor",
    "The orchard keeper",
    "The evening tram",
    "A careful mason",
    "The school garden",
    "A restless falcon",
    "The copper mill",
    "The winter fair",
    "A retired sailor",
    "The glass workshop",
    "A curious goat",
)
_VERBS = (
    "watches",
    "repairs",
    "paints",
    "counts",
    "follows",
    "gathers",
    "admires",
    "carries",
    "polishes",
    "describes",
    "remembers",
    "arranges",
    "measures",
    "shelters",
    "collects",
)
_OBJECTS = (
    "the wooden boats",
    "a basket of pears",
    "the broken fences",
    "the long shadows",
    "a pile of letters",
    "the faded banners",
    "the copper kettles",
    "a row of lanterns",
    "the spring lambs",
    "the narrow bridges",
    "a map of the coast",
    "the woollen blankets",
    "the morning bread",
    "a set of brass bells",
    "the painted doors",
    "the olive jars",
)
_ADVERBIALS = (
    "near the eastern hills",
    "before the first frost",
    "after the long rain",
    "beside the old well",
    "under a grey sky",
    "at the edge of town",
    "every other week",
    "during the harvest",
    "along the stony path",
    "when the tide turns",
    "in the dim hall",
    "behind the chapel",
    "without a word",
    "as the bells ring",
    "on quiet Sundays",
)


def filler_sentences(rng: random.Random, count: int) -> list[str]:
    """A pool of distinct-looking filler sentences (no fact, no question in them).

    Args:
        rng: The task's random generator.
        count: How many sentences.

    Returns:
        The sentences.
    """
    return [
        f"{rng.choice(_SUBJECTS)} {rng.choice(_VERBS)} {rng.choice(_OBJECTS)} "
        f"{rng.choice(_ADVERBIALS)}."
        for _ in range(count)
    ]


def filler_paragraph(rng: random.Random, pool: list[str], sentences: int) -> str:
    """One line of filler: ``sentences`` sentences drawn from ``pool``."""
    return " ".join(rng.choices(pool, k=sentences))


# -- names ----------------------------------------------------------------------------------

_SYLLABLES = (
    "ka",
    "vel",
    "dor",
    "mi",
    "tan",
    "ro",
    "sel",
    "quo",
    "bri",
    "zan",
    "lu",
    "mar",
    "ten",
    "os",
    "fey",
    "gal",
    "hin",
    "jor",
    "nex",
    "pra",
    "ril",
    "sut",
    "vim",
    "wex",
    "yor",
    "zel",
    "ab",
    "cor",
    "dri",
    "em",
    "fal",
    "gro",
    "hal",
    "isk",
    "jun",
    "kel",
    "lom",
    "nor",
    "pell",
)
_FIRST = (
    "Ilsa",
    "Tomas",
    "Mirela",
    "Oskar",
    "Dagny",
    "Rafael",
    "Helka",
    "Anouk",
    "Bruno",
    "Celia",
    "Dmitri",
    "Edda",
    "Fabian",
    "Greta",
    "Hugo",
    "Ines",
    "Jonas",
    "Katya",
    "Lorenz",
    "Maren",
    "Nils",
    "Olga",
    "Pavel",
    "Quinn",
    "Rosa",
    "Stefan",
    "Tilde",
    "Ulrich",
    "Vera",
    "Wanda",
)
_LAST = (
    "Brenner",
    "Okafor",
    "Lindqvist",
    "Moravec",
    "Castellan",
    "Duarte",
    "Eskola",
    "Faber",
    "Grimaldi",
    "Halloran",
    "Ivanova",
    "Jansen",
    "Kowalczyk",
    "Laurent",
    "Mendez",
    "Novak",
    "Oyelaran",
    "Petrov",
    "Quist",
    "Rasmussen",
    "Szabo",
    "Takeda",
    "Urquhart",
    "Varga",
)
_ARTIFACT_ADJ = (
    "amber",
    "silver",
    "crooked",
    "painted",
    "ivory",
    "gilded",
    "cracked",
    "jade",
    "iron",
    "velvet",
    "copper",
    "glass",
    "bronze",
    "tiny",
    "enormous",
    "lacquered",
    "carved",
    "pearl",
    "obsidian",
    "woven",
    "ancient",
    "spotted",
    "twisted",
    "sapphire",
    "marble",
    "feathered",
)
_ARTIFACT_NOUN = (
    "astrolabe",
    "compass",
    "chalice",
    "hourglass",
    "music box",
    "sextant",
    "tapestry",
    "telescope",
    "lute",
    "crown",
    "sundial",
    "mask",
    "globe",
    "harp",
    "inkwell",
    "lantern",
    "map case",
    "chess set",
    "quill",
    "seal",
    "shield",
    "spindle",
    "teapot",
    "abacus",
    "flute",
)


def make_names(rng: random.Random, count: int, *, syllables: tuple[int, int] = (2, 3)) -> list[str]:
    """Distinct invented proper names (``Veldora``), capitalised.

    Args:
        rng: The task's random generator.
        count: How many names.
        syllables: The least and most syllables per name.

    Returns:
        ``count`` distinct names.
    """
    names: dict[str, None] = {}
    while len(names) < count:
        parts = rng.randint(*syllables)
        names["".join(rng.choice(_SYLLABLES) for _ in range(parts)).capitalize()] = None
    return list(names)


def make_people(rng: random.Random, count: int) -> list[str]:
    """Distinct ``First Last`` names (at most ``len(_FIRST) * len(_LAST)``)."""
    pairs = [f"{f} {last}" for f in _FIRST for last in _LAST]
    return rng.sample(pairs, count)


def make_artifacts(rng: random.Random, count: int) -> list[str]:
    """Distinct ``adjective noun`` artifact names (at most 650)."""
    pairs = [f"{a} {n}" for a in _ARTIFACT_ADJ for n in _ARTIFACT_NOUN]
    return rng.sample(pairs, count)


def make_code(rng: random.Random) -> str:
    """A secret access code like ``482-QXT``."""
    letters = "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ") for _ in range(3))
    return f"{rng.randint(100, 999)}-{letters}"


CODE_PATTERN: Final = re.compile(r"\b\d{3}-[A-Z]{3}\b")
"""What a secret access code looks like."""

# -- facts ----------------------------------------------------------------------------------


def needle_fact(project: str, code: str) -> str:
    """The needle: the one sentence that holds a project's access code."""
    return f"The secret access code for project {project} is {code}."


def needle_decoy(rng: random.Random, project: str) -> str:
    """A sentence that names a project but gives no code."""
    return rng.choice(
        (
            f"The review of project {project} was moved to the spring.",
            f"Nobody at the meeting mentioned project {project} again.",
            f"The budget for project {project} was approved without debate.",
        )
    )


NEEDLE_FACT: Final = re.compile(r"The secret access code for project (\w+) is (\d{3}-[A-Z]{3})\.")
"""Matches :func:`needle_fact`: groups project and code."""


def location_fact(artifact: str, city: str) -> str:
    """First hop: where an artifact is kept."""
    return f"The {artifact} is kept in the archive of {city}."


def keeper_fact(city: str, person: str) -> str:
    """Second hop: who runs a city's archive."""
    return f"The archive of {city} is run by {person}."


def artifact_decoy(rng: random.Random, artifact: str, city: str) -> str:
    """A sentence that names an artifact without saying where it is kept."""
    return rng.choice(
        (
            f"Many visitors to {city} ask about the {artifact}.",
            f"A drawing of the {artifact} was sold at a fair in {city}.",
            f"Old songs from {city} mention the {artifact} in passing.",
        )
    )


LOCATION_FACT: Final = re.compile(r"The ([a-z]+(?: [a-z]+)+) is kept in the archive of (\w+)\.")
"""Matches :func:`location_fact`: groups artifact and city."""
KEEPER_FACT: Final = re.compile(r"The archive of (\w+) is run by ([A-Z]\w+ [A-Z]\w+)\.")
"""Matches :func:`keeper_fact`: groups city and person."""

# -- labelled records (OOLONG-like) ---------------------------------------------------------

LABELS: Final = ("location", "person", "number", "entity", "description", "abbreviation")
"""The labels of records; a record's label is implied by its wording, never written."""

INSTANCE_TEMPLATES: Final[dict[str, tuple[str, ...]]] = {
    "location": (
        "Where is the {thing} of {place} located?",
        "In which region can the {thing} of {place} be found?",
        "Which country is home to the {thing} of {place}?",
    ),
    "person": (
        "Who designed the {thing} of {place}?",
        "Who was the first owner of the {thing} of {place}?",
        "Whose portrait hangs near the {thing} of {place}?",
    ),
    "number": (
        "How many {things} surround the {thing} of {place}?",
        "What year was the {thing} of {place} finished?",
        "How long is the {thing} of {place} in metres?",
    ),
    "entity": (
        "What animal appears on the {thing} of {place}?",
        "Which instrument is played beside the {thing} of {place}?",
        "What plant grows around the {thing} of {place}?",
    ),
    "description": (
        "Why is the {thing} of {place} painted {colour}?",
        "How does the {thing} of {place} stay warm in winter?",
        "What is the purpose of the {thing} of {place}?",
    ),
    "abbreviation": (
        "What does {acronym} stand for on the {thing} of {place}?",
        "What is the full form of {acronym} on the {thing} of {place}?",
    ),
}
"""How an instance of each label is worded (the slots are filled from the lists below)."""

_THINGS = (
    "bell tower",
    "town hall",
    "old bridge",
    "fountain",
    "stone gate",
    "clock",
    "harbour wall",
    "granary",
    "windmill",
    "chapel",
    "market hall",
    "watchtower",
    "bathhouse",
    "library",
)
_THINGS_PLURAL = ("statues", "lamps", "benches", "trees", "pillars", "flags", "arches")
_COLOURS = ("red", "blue", "white", "green", "yellow", "black")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def instance_text(rng: random.Random, label: str, places: list[str]) -> str:
    """A question-like instance whose wording implies ``label``.

    Args:
        rng: The task's random generator.
        label: One of :data:`LABELS`.
        places: Invented place names to fill the ``{place}`` slot.

    Returns:
        The instance text.
    """
    template = rng.choice(INSTANCE_TEMPLATES[label])
    return template.format(
        thing=rng.choice(_THINGS),
        things=rng.choice(_THINGS_PLURAL),
        place=rng.choice(places),
        colour=rng.choice(_COLOURS),
        acronym="".join(rng.choice("ABCDEFGHIKLMNPRSTVW") for _ in range(3)),
    )


def record_line(rng: random.Random, user: int, text: str) -> str:
    """One record: ``Date: Mar 04, 2021 || User: 48213 || Instance: <text>``."""
    date = f"{rng.choice(_MONTHS)} {rng.randint(1, 28):02d}, {rng.randint(2015, 2024)}"
    return f"Date: {date} || User: {user} || Instance: {text}"


RECORD: Final = re.compile(
    r"Date: [A-Z][a-z]{2} \d{2}, \d{4} \|\| User: (\d+) \|\| Instance: ([^\n]+)"
)
"""Matches :func:`record_line`: groups user id and instance text."""
