"""Synthetic Amazon-Reviews-2023-shaped JSON Lines: product metadata and reviews.

The metadata rows carry what the real `meta_<Category>.jsonl` files carry, lists included
(`features`, `description`, `images`, `categories`), so readers meet the real shapes; text is
drawn from a small shopping vocabulary, seeded, so every run writes the same bytes.
"""

import json
import random

WORDS = (  # noqa: SIM905 - a vocabulary reads better as one string
    "durable lightweight wireless compact stainless waterproof ergonomic rechargeable portable "
    "adjustable premium breathable foldable cordless insulated nonstick bluetooth ceramic cotton "
    "leather bamboo silicone aluminum kitchen travel office outdoor garden fitness camping baby "
    "pet gaming audio charger blender kettle backpack headphones lamp mat bottle speaker knife "
    "case cable stand organizer pillow blanket jacket shoes helmet drill vacuum fan heater"
).split()
CATEGORIES = ["Electronics", "Home & Kitchen", "Sports & Outdoors", "Beauty", "Toys & Games", "Tools"]


def _sentence(rng, n):
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + "."


def product(rng, i):
    return {
        "main_category": rng.choice(CATEGORIES),
        "title": f"{_sentence(rng, rng.randint(4, 12))[:-1]} {i}",
        "average_rating": round(rng.uniform(1, 5), 1),
        "rating_number": rng.randint(0, 50_000),
        "features": [_sentence(rng, rng.randint(5, 16)) for _ in range(rng.randint(0, 6))],
        "description": [_sentence(rng, rng.randint(8, 30)) for _ in range(rng.randint(0, 3))],
        "price": rng.choice([None, round(rng.uniform(3, 400), 2)]),
        "images": [
            {
                "thumb": f"https://m.media-amazon.com/images/I/{i}-{k}._SS40_.jpg",
                "variant": "MAIN" if k == 0 else f"PT0{k}",
            }
            for k in range(rng.randint(1, 5))
        ],
        "videos": [],
        "store": _sentence(rng, 2)[:-1],
        "categories": [rng.choice(CATEGORIES), _sentence(rng, 2)[:-1]],
        "details": {"Brand": _sentence(rng, 1)[:-1], "Item Weight": f"{rng.randint(1, 90)} ounces"},
        "parent_asin": f"B{i:09d}",
        "bought_together": None,
    }


def review(rng, i):
    return {
        "rating": float(rng.randint(1, 5)),
        "title": _sentence(rng, rng.randint(2, 6)),
        "text": " ".join(_sentence(rng, rng.randint(6, 20)) for _ in range(rng.randint(1, 5))),
        "images": [],
        "asin": f"B{i:09d}",
        "parent_asin": f"B{i:09d}",
        "user_id": f"AG{rng.getrandbits(64):016X}",
        "timestamp": 1_600_000_000_000 + i,
        "helpful_vote": rng.randint(0, 40),
        "verified_purchase": rng.random() < 0.9,
    }


def write_jsonl(path, kind, target_bytes, seed=0):
    """Write rows of `kind` (product or review) until the file holds about target_bytes; returns rows."""
    rng = random.Random(seed)
    make = product if kind == "product" else review
    written = rows = 0
    with open(path, "w", encoding="utf-8") as out:
        while written < target_bytes:
            line = json.dumps(make(rng, rows)) + "\n"
            out.write(line)
            written += len(line.encode())
            rows += 1
    return rows
