"""Deterministic synthetic ShopBench-like task prompts for the dedup benchmark.

Shaped like generated shopping tasks: six task types, several phrasings each, product titles
built from a large vocabulary of invented brands, model numbers, materials and features,
several sentences per prompt (median about 65 words), and a share of near-copies of earlier
prompts (a few words swapped, as an LLM repeating itself would) so that dedup has work to do.
"""

import itertools
import random

_SYLLABLES = [
    "ka",
    "lo",
    "mi",
    "ra",
    "ven",
    "tor",
    "lux",
    "pi",
    "zen",
    "dor",
    "fi",
    "na",
    "qu",
    "sol",
    "tek",
    "ma",
    "ri",
    "vo",
    "xel",
    "bri",
    "co",
    "nex",
    "ul",
    "tra",
    "mo",
]
_ADJECTIVES = [
    "portable",
    "wireless",
    "compact",
    "heavy-duty",
    "lightweight",
    "waterproof",
    "ergonomic",
    "foldable",
    "rechargeable",
    "adjustable",
    "premium",
    "organic",
    "stainless",
    "non-slip",
    "breathable",
    "insulated",
    "magnetic",
    "smart",
    "vintage",
    "cordless",
    "ultra-thin",
    "reusable",
    "eco-friendly",
    "quick-dry",
    "anti-fog",
]
_MATERIALS = [
    "bamboo",
    "silicone",
    "aluminium",
    "cotton",
    "merino wool",
    "ceramic",
    "glass",
    "leather",
    "nylon",
    "cast iron",
    "oak",
    "carbon fiber",
    "polyester",
    "linen",
    "steel",
]
_COLOURS = [
    "black",
    "white",
    "navy",
    "sage green",
    "charcoal",
    "rose gold",
    "teal",
    "beige",
    "burgundy",
    "mustard",
    "slate grey",
    "coral",
    "olive",
    "ivory",
    "cobalt",
]
_NOUNS = [
    "backpack",
    "kettle",
    "yoga mat",
    "desk lamp",
    "hair dryer",
    "power bank",
    "skillet",
    "pillow",
    "cat feeder",
    "earbuds",
    "rain jacket",
    "food processor",
    "toothbrush",
    "dog harness",
    "puzzle set",
    "gaming mouse",
    "sunscreen",
    "lunch box",
    "speaker",
    "plant pot",
    "fountain pen",
    "baby monitor",
    "dumbbell",
    "socks",
    "action camera",
    "air fryer",
    "phone case",
    "water bottle",
    "blender",
    "tent",
    "sleeping bag",
    "watch",
    "keyboard",
    "monitor stand",
    "shower head",
    "coffee grinder",
    "humidifier",
    "rug",
]
_FEATURES = [
    "a two-year warranty",
    "USB-C charging",
    "a 12-hour battery",
    "dishwasher-safe parts",
    "a lifetime guarantee",
    "noise cancellation",
    "a carry pouch",
    "three speed settings",
    "an auto shut-off",
    "a leakproof lid",
    "touch controls",
    "app connectivity",
    "a memory foam core",
    "reflective strips",
    "a non-stick coating",
    "a digital display",
]
_CATEGORIES = [
    "Electronics",
    "Home & Kitchen",
    "Sports & Outdoors",
    "Beauty & Personal Care",
    "Pet Supplies",
    "Toys & Games",
    "Office Products",
    "Clothing, Shoes & Jewelry",
    "Grocery & Gourmet Food",
    "Patio, Lawn & Garden",
    "Baby Products",
    "Automotive",
]
_REVIEW_BITS = [
    "it arrived a day early",
    "the packaging was damaged",
    "works exactly as described",
    "my kids love it",
    "the battery drains faster than advertised",
    "setup took minutes",
    "customer service replaced it quickly",
    "the colour is darker than the photos",
    "it feels sturdy",
    "the instructions were confusing",
    "great value for the price",
    "it stopped working after two weeks",
    "much quieter than my old one",
    "the strap broke on the first trip",
    "I bought a second one for my parents",
]


_SPECS = ["{}W", "{}GB", "{}-inch", "{}mAh", "{}ml", "{}L", "{} lbs", "{}cm", "{}-piece", "{} count"]
_REVIEWERS = [
    "my wife",
    "my son",
    "our team",
    "my neighbour",
    "the whole family",
    "my dog",
    "I",
    "my roommate",
    "my grandmother",
    "our office",
    "my daughter",
    "my partner",
]
_VERDICTS = [
    "loves it",
    "returned it",
    "uses it daily",
    "was disappointed",
    "gave it five stars",
    "bought two more",
    "found it flimsy",
    "was impressed",
    "could not assemble it",
    "recommends it",
    "is still testing it",
    "noticed a defect",
]


class _Vocabulary:
    """Invented brands, product lines and a Zipf-distributed free-text vocabulary.

    Real titles and reviews draw on a large vocabulary with Zipf's law word frequencies;
    pseudo-words stand in for English so nothing here is copied from real listings.
    """

    def __init__(self, rng, size=40000, exponent=1.07):
        self.rng = rng
        words = set()
        while len(words) < size + 25000:
            words.add("".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(1, 4))))
        words = sorted(words)
        rng.shuffle(words)
        self.brands = [w.title() for w in words[:5000]]
        self.lines = [w.title() for w in words[5000:25000]]
        self.words = words[25000:]
        self.cumulative = list(itertools.accumulate(1 / (r**exponent) for r in range(1, size + 1)))

    def text(self, n):
        return " ".join(self.rng.choices(self.words, cum_weights=self.cumulative, k=n))

    def title(self):
        r = self.rng
        model = f"{r.choice('ABCDEFGHKMPRSTVXZ')}{r.choice('ABCDEFGHKMPRSTVXZ')}-{r.randint(100, 9999)}"
        spec = r.choice(_SPECS).format(r.randint(2, 512))
        return (
            f"{r.choice(self.brands)} {r.choice(self.lines)} {r.choice(_ADJECTIVES)} {self.text(r.randint(1, 3))} "
            f"{r.choice(_NOUNS)} {model} {spec} in {r.choice(_COLOURS)}"
        )

    def review(self, n):
        r = self.rng
        bits = r.sample(_REVIEW_BITS, n)
        bits.insert(r.randrange(n + 1), f"{r.choice(_REVIEWERS)} {r.choice(_VERDICTS)} after {r.randint(2, 60)} days")
        return ", ".join(bits) + ". " + self.text(r.randint(6, 16))


_OPENERS = [
    "A shopper on an online store is comparing products.",
    "You are helping a customer of a large web shop.",
    "Consider the following situation from an e-commerce site.",
    "An online retailer needs help with its catalogue.",
    "Imagine you work for the support team of a marketplace.",
    "Here is a task about online shopping.",
    "The following comes from a product search log.",
    "A buyer left a question on the product page.",
    "We are cleaning up listings before a seasonal sale.",
    "This example is taken from a shopping assistant chat.",
]
_CLOSERS = [
    "Answer briefly.",
    "Do not explain your answer.",
    "Only output the answer.",
    "Be concise and precise.",
    "Reply in the requested format and nothing else.",
    "Think about what a typical customer would expect.",
    "Use your knowledge of online shopping.",
    "If unsure, give your best guess.",
    "",
    "",
]


def _frame(r, body):
    return " ".join(part for part in (r.choice(_OPENERS), body, r.choice(_CLOSERS)) if part)


def _multiple_choice(v, r):
    options = "\n".join(f"{i}. {c}" for i, c in enumerate(r.sample(_CATEGORIES, 4)))
    body = r.choice(
        [
            "Which category does the product {t} belong to? It comes with {f} and suits {who}.",
            "The listing says: {t}, with {f}. Which department would sell this item to {who}?",
            "Pick the best top-level category for {t}. Its key selling point is {f}.",
            "Where should {t} be shelved so that {who} find it? Note that it offers {f}.",
        ]
    ).format(
        t=v.title(),
        f=r.choice(_FEATURES),
        who=r.choice(["students", "parents", "travellers", "runners", "cooks", "gamers", "gardeners"]),
    )
    return _frame(r, body) + "\n" + options


def _ranking(v, r):
    items = "\n".join(f"{i}. {v.title()}" for i in range(1, 6))
    query = (
        f"{r.choice(_ADJECTIVES)} {r.choice(_NOUNS)} for "
        f"{r.choice(['camping', 'the office', 'a small kitchen', 'travel', 'a toddler', 'a gift', 'winter'])}"
    )
    body = r.choice(
        [
            'A user searched for "{q}". Rank the products by relevance to the query, most relevant first.',
            'Order these results for the query "{q}" from best to worst match, as comma-separated indices.',
            'Sort the five listings below by how well they answer the search "{q}".',
        ]
    ).format(q=query)
    return _frame(r, body) + "\n" + items


def _retrieval(v, r):
    items = "\n".join(f"{i}. {v.title()}" for i in range(1, 7))
    body = r.choice(
        [
            "Given the purchased product {t}, select three products the customer will likely buy next.",
            "Someone just bought {t}. Which three of the listed items complement it best?",
            "Find the three listings most related to {t} and give their indices.",
        ]
    ).format(t=v.title())
    return _frame(r, body) + "\n" + items


def _ner(v, r):
    body = r.choice(
        [
            "Extract all brand names and product types in this review: I replaced my old {t} with the {u} because {a}.",
            "Identify the named entities (brands, materials, colours) in the title {t} and return them as a list.",
            "List every attribute value mentioned in: {t}. The seller adds that {a}.",
        ]
    ).format(t=v.title(), u=v.title(), a=v.review(2))
    return _frame(r, body)


def _generation(v, r):
    body = r.choice(
        [
            "Write a short product description for the {t}. Mention {f} and that {a}.",
            "Summarise this customer review of the {t} in one sentence: {a}.",
            "Draft a reply to a buyer of the {t} who wrote: {a}.",
            "Suggest a catchy headline for the {t} that highlights {f}.",
        ]
    ).format(t=v.title(), f=r.choice(_FEATURES), a=v.review(r.randint(2, 4)))
    return _frame(r, body)


def _classification(v, r):
    body = r.choice(
        [
            "Is this review of the {t} positive or negative? {a}. Answer 0 for negative and 1 for positive.",
            'Is the query "{q}" an exact match, a substitute, a complement or irrelevant for {t}?',
            "Does the following review of the {t} mention a defect? {a}. Reply yes or no.",
        ]
    ).format(t=v.title(), a=v.review(r.randint(2, 4)), q=f"{r.choice(_COLOURS)} {r.choice(_NOUNS)}")
    return _frame(r, body)


_BUILDERS = [_multiple_choice, _ranking, _retrieval, _ner, _generation, _classification]


def _near_copy(text, r):
    words = text.split(" ")
    for _ in range(r.randint(1, 3)):
        i = r.randrange(len(words))
        words[i] = r.choice(_ADJECTIVES + _COLOURS)
    return " ".join(words)


def shopping_prompts(n, seed=0, near_copy_share=0.1):
    """`n` prompts; about `near_copy_share` of them lightly edited copies of earlier ones."""
    rng = random.Random(seed)
    vocab = _Vocabulary(rng)
    prompts = []
    for _ in range(n):
        if prompts and rng.random() < near_copy_share:
            prompts.append(_near_copy(rng.choice(prompts), rng))
        else:
            prompts.append(rng.choice(_BUILDERS)(vocab, rng))
    return prompts


if __name__ == "__main__":
    import statistics

    sample = shopping_prompts(2000)
    print("median words:", statistics.median(len(p.split()) for p in sample))
    print(sample[0], "\n---\n", sample[1])
