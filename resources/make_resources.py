"""Build the shipped sample data from catalog.py (run by hand; outputs are committed).

    python resources/make_resources.py

Writes resources/corpus/{products.jsonl,reviews.csv}, resources/seed/seed_tasks.jsonl and
resources/eval/<task_type>.jsonl. Seeds and eval tasks are chosen greedily so that no seed
scores above 0.65 ROUGE-L (rouge package, the curation metric) against another seed or any
eval task: the shipped seeds survive curation and the eval sets are not contaminated.
"""

import csv
import json
import random
import sys
from pathlib import Path

from rouge import Rouge

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from catalog import CATEGORIES, PRODUCTS, QUERIES  # noqa: E402

rng = random.Random(2024)
# Enough eval tasks for a 95% interval to tell a real gain of about 0.1 from noise, and
# enough seeds to teach the 135M default model each task's answer format.
SEEDS_PER_TYPE = 16
EVAL_PER_TYPE = 48
TITLES = [p[0] for p in PRODUCTS]
BY_TITLE = {p[0]: p for p in PRODUCTS}


# Several wordings per instruction, so that tasks built from one template still differ
# enough for ROUGE-L near-duplicate removal to keep them apart.
INSTRUCTIONS = {
    "mc": [
        "Answer with the option number only.",
        "Reply with a single digit.",
        "Respond using just the index of your choice.",
        "Which number is correct? Give only that number.",
        "Your answer should be one of 0, 1, 2 or 3 and nothing else.",
        "Choose one; write its number.",
    ],
    "rank": [
        "Output the five product numbers in order, separated by commas.",
        "Give the ranking as comma-separated numbers.",
        "Return all five ids, best first, e.g. 3,1,2,5,4.",
        "Write the order as a list of numbers with commas between them.",
        "Respond only with the sorted ids joined by commas.",
        "Provide the full ordering of the ids.",
    ],
    "retr": [
        "List exactly three numbers, comma-separated.",
        "Answer with their numbers separated by commas.",
        "Return the ids of your picks, joined with commas.",
        "Only output the chosen numbers.",
        "Which ids? Give them comma-separated, nothing more.",
        "Reply with the matching item numbers.",
    ],
    "label": [
        "Answer with the label number.",
        "Reply with the digit of the label.",
        "Output only the matching number.",
        "Which one applies? Give its index.",
        "Respond with a single number from the list.",
        "State the label id alone.",
    ],
    "ner": [
        "Which brands does this reviewer mention? Answer with a list of brand names.",
        "Pull out each company name that appears, as a list.",
        "List every brand you can find in it.",
        "Identify the manufacturers named above; return a Python list.",
        "What brand entities occur in the text? Output them as a list of strings.",
        "Return the brand names, comma-separated.",
    ],
}


def instr(kind):
    return rng.choice(INSTRUCTIONS[kind])


def record(task_type, task_name, metric, prompt, answer):
    return {
        "input_field": prompt,
        "output_field": answer,
        "task_type": task_type,
        "metric": metric,
        "task_name": task_name,
    }


def options_block(items, start=0):
    return "\n".join(f"{i + start}. {item}" for i, item in enumerate(items))


def multiple_choice():
    out = []
    for title, brand, cat, *_ in PRODUCTS:
        wrong = rng.sample([c for c in CATEGORIES if c != cat], 3)
        opts = wrong + [cat]
        rng.shuffle(opts)
        out.append(
            record(
                "multiple-choice",
                "product_category_mc",
                "accuracy",
                f'Which store category is the right home for the listing "{title}"?\n'
                f"{options_block(opts)}\n" + instr("mc"),
                opts.index(cat),
            )
        )
    for title, brand, cat, material, feature, use, *_ in PRODUCTS:
        others = rng.sample([t for t in TITLES if BY_TITLE[t][2] != cat], 3)
        opts = others + [title]
        rng.shuffle(opts)
        out.append(
            record(
                "multiple-choice",
                "use_case_mc",
                "accuracy",
                f"Someone is shopping for {use}. Of these items, which one suits that need?\n"
                f"{options_block(opts)}\n" + instr("mc"),
                opts.index(title),
            )
        )
    materials = sorted({p[3] for p in PRODUCTS})
    for title, brand, cat, material, *_ in PRODUCTS:
        opts = rng.sample([m for m in materials if m != material], 3) + [material]
        rng.shuffle(opts)
        out.append(
            record(
                "multiple-choice",
                "product_material_mc",
                "accuracy",
                f"The listing {title} by {brand} describes its build. What is it made of?\n"
                f"{options_block(opts)}\n" + instr("mc"),
                opts.index(material),
            )
        )
    return out


def ranking():
    out = []
    # Each query three times, with other distractors and another wording.
    wordings = [
        'Search query: "{query}". Order the five products below from most to least relevant to this query.',
        'A shopper typed "{query}" into the search box. Sort these listings, most relevant first.',
        'Rank the items by relevance to the search "{query}".',
        "Someone wants {query}. Put these five products in order of usefulness.",
        'For the query "{query}", which listing belongs on top, and which below it?',
    ]
    for query, relevant in QUERIES:
        for wording in wordings:
            distractors = rng.sample([t for t in TITLES if t not in relevant], 2)
            cands = relevant + distractors
            rng.shuffle(cands)
            truth = [cands.index(t) + 1 for t in relevant + distractors]
            out.append(
                record(
                    "ranking",
                    "query_product_ranking",
                    "ndcg",
                    wording.format(query=query) + f"\n{options_block(cands, 1)}\n" + instr("rank"),
                    truth,
                )
            )
    for title, brand, cat, material, feature, use, *_ in PRODUCTS:
        same_cat = [t for t in TITLES if BY_TITLE[t][2] == cat and t != title][:2]
        rest = rng.sample([t for t in TITLES if BY_TITLE[t][2] != cat], 5 - 1 - len(same_cat))
        ordered = [title] + same_cat + rest
        cands = ordered[:]
        rng.shuffle(cands)
        out.append(
            record(
                "ranking",
                "use_case_ranking",
                "ndcg",
                f"A customer describes their need as {use}. Rank these listings by how well "
                f"each one serves it, best first:\n{options_block(cands, 1)}\n" + instr("rank"),
                [cands.index(t) + 1 for t in ordered],
            )
        )
    return out


def retrieval():
    out = []
    wordings = [
        'Which three of the following eight items would you show a shopper who typed "{query}"?',
        'Find the three listings that match the search "{query}".',
        "A customer is looking for {query}. Select the three products that fit.",
        'Search: "{query}". Three of these eight results are relevant; which?',
    ]
    for query, relevant in QUERIES:
        for wording in wordings:
            cands = relevant + rng.sample([t for t in TITLES if t not in relevant], 5)
            rng.shuffle(cands)
            out.append(
                record(
                    "retrieval",
                    "query_product_retrieval",
                    "hit rate@3",
                    wording.format(query=query) + f"\n{options_block(cands, 1)}\n" + instr("retr"),
                    sorted(cands.index(t) + 1 for t in relevant),
                )
            )
    for cat in CATEGORIES:
        members = [t for t in TITLES if BY_TITLE[t][2] == cat]
        if len(members) < 2:
            continue
        for k in range(0, len(members), 3):
            inside = members[k : k + 3]
            for wording in (
                "Pick out every listing that belongs in the {cat} department.",
                "Which of these products would a store file under {cat}?",
            ):
                cands = inside + rng.sample([t for t in TITLES if BY_TITLE[t][2] != cat], 8 - len(inside))
                rng.shuffle(cands)
                out.append(
                    record(
                        "retrieval",
                        "category_retrieval",
                        "hit rate@3",
                        wording.format(cat=cat) + f"\n{options_block(cands, 1)}\n" + instr("retr"),
                        sorted(cands.index(t) + 1 for t in inside),
                    )
                )
    return out


def named_entities():
    out = []
    phrasings = [
        'Product text: "The {title} from {brand} is made of {material} and offers {feature}."\n'
        "Extract the brand name and the material mentioned. Return them as a Python list of strings.",
        "{brand} lists its {title} with this note: built from {material}.\n"
        "What are the brand and material entities here? Output a list.",
        "Seller blurb -- {material} construction, by {brand}, good for {use}.\n"
        "Name the manufacturer and the material as a JSON-style list.",
        "New arrival! {brand} brings you {feature}, crafted in {material}.\n"
        "Tag the entities: which company and which material? Give a list.",
        "Q&A on the {title}: is it really {material}? Yes, {brand} confirmed it.\n"
        "List the brand and the material named in this exchange.",
        "Spec sheet | maker: {brand} | body: {material} | ideal for {use}\n"
        "Return the maker and the body material as a list of strings.",
    ]
    # Two phrasings per product, so the pool is large and varied enough for 72 picks.
    for i, (title, brand, cat, material, feature, use, *_) in enumerate(PRODUCTS):
        for phrasing in (phrasings[i % 6], phrasings[(i + 3) % 6]):
            prompt = phrasing.format(title=title, brand=brand, material=material, feature=feature, use=use)
            out.append(
                record("named_entity_recognition", "brand_material_extraction", "micro f1", prompt, [brand, material])
            )
    reviews = [
        'Review: "I returned my {a} purchase and bought a {b} one instead; {why}."\n',
        'Comment: "{b} beats {a} easily -- {why}."\n',
        'Forum post: "Switched from {a} to {b} last month. Verdict: {why}."\n',
        'Rating note: "Compared {a} and {b} side by side before buying; {why}."\n',
    ]
    pairs = list(zip(PRODUCTS, PRODUCTS[7:] + PRODUCTS[:7]))
    for i, (a, b) in enumerate(pairs):
        if a[1] == b[1]:
            continue
        for review in (reviews[i % 4], reviews[(i + 2) % 4]):
            out.append(
                record(
                    "named_entity_recognition",
                    "review_brand_mentions",
                    "micro f1",
                    review.format(a=a[1], b=b[1], why=b[6]) + instr("ner"),
                    [a[1], b[1]],
                )
            )
    return out


def generation():
    out = []
    for title, brand, cat, material, feature, use, praise, complaint in PRODUCTS:
        out.append(
            record(
                "generation",
                "product_pitch",
                "sent-transformer",
                f"Write one short sentence selling the {title} by {brand}. Mention {feature}.",
                f"The {title} by {brand} comes with {feature}, ideal for {use}.",
            )
        )
        out.append(
            record(
                "generation",
                "review_summary",
                "rougel",
                f'Summarise this customer review in a single sentence.\nReview: "Overall {praise}. '
                f'However, {complaint}."',
                f"The customer likes that {praise} but notes that {complaint}.",
            )
        )
        out.append(
            record(
                "generation",
                "use_explanation",
                "bleu",
                f"In a few words, what is a {cat.lower()} item like the {title} mainly bought for?",
                f"It is mainly bought for {use}.",
            )
        )
    return out


def classification():
    out = []
    labels = ["negative", "neutral", "positive"]
    for title, brand, cat, material, feature, use, praise, complaint in PRODUCTS:
        variants = [
            (f"Honestly {complaint}, so it is going back.", 0),
            (f"Great buy, {praise}!", 2),
            (f"It does the job: {praise}, although {complaint}.", 1),
        ]
        # Two of the three sentiments per product, so that every label is common.
        for text, label in rng.sample(variants, 2):
            out.append(
                record(
                    "classification",
                    "review_sentiment",
                    "accuracy",
                    f'Review of {title}: "{text}"\nClassify the sentiment.\n{options_block(labels)}\n' + instr("label"),
                    label,
                )
            )
    for query, relevant in QUERIES:
        for title, label in ((relevant[0], 1), (rng.choice([t for t in TITLES if t not in relevant]), 0)):
            out.append(
                record(
                    "classification",
                    "query_product_match",
                    "accuracy",
                    f'Is the product "{title}" a relevant result for the search "{query}"?\n'
                    "0. not relevant\n1. relevant\n" + instr("label"),
                    label,
                )
            )
    return out


def rouge_f(a, b, scorer=Rouge()):
    return scorer.get_scores(a, b)[0]["rouge-l"]["f"]


def choose(pool, n_seed, n_eval, seeds, evals, limit=0.65):
    """Greedy pick: seeds far from seeds and evals, evals far from seeds."""
    rng.shuffle(pool)
    picked_seed, picked_eval = [], []
    for task in pool:
        text = task["input_field"]
        want_seed = len(picked_seed) * n_eval < len(picked_eval) * n_seed
        if not want_seed and len(picked_eval) < n_eval and all(rouge_f(s["input_field"], text) <= limit for s in seeds):
            picked_eval.append(task)
            evals.append(task)
        elif len(picked_seed) < n_seed and all(rouge_f(o["input_field"], text) <= limit for o in seeds + evals):
            picked_seed.append(task)
            seeds.append(task)
        if len(picked_seed) == n_seed and len(picked_eval) == n_eval:
            break
    if len(picked_seed) < n_seed or len(picked_eval) < n_eval:
        raise SystemExit(f"{pool[0]['task_type']} pool too small: {len(picked_seed)} seeds, {len(picked_eval)} eval")
    return picked_eval


def corpus():
    docs = []
    for title, brand, cat, material, feature, use, praise, complaint in PRODUCTS:
        docs.append(
            {
                "title": title,
                "brand": brand,
                "category": cat,
                "features": f"{material}; {feature}",
                "description": f"Designed for {use}, the {title} is made from {material} and "
                f"features {feature}. A {cat.lower()} essential from {brand}.",
            }
        )
    # A near-duplicate listing (one word changed) that the corpus stage's MinHash must drop.
    near_dup = dict(docs[1], features=docs[1]["features"].replace("foam midsole", "foam sole"))
    docs.append(near_dup)
    reviews = []
    for title, brand, cat, material, feature, use, praise, complaint in PRODUCTS:
        reviews.append((title, 5, "Love it", f"Bought this for {use} and {praise}."))
        reviews.append((title, 2, "Disappointed", f"I wanted to like it, but {complaint}."))
        reviews.append((title, 4, "Good value", f"Solid {cat.lower()} purchase: {praise}, though {complaint}."))
    # Rows the corpus stage must drop and account for: an empty review and an exact repeat.
    reviews.append((TITLES[0], 3, "", ""))
    reviews.append(reviews[0])
    return docs, reviews


def main():
    docs, reviews = corpus()
    (HERE / "corpus").mkdir(exist_ok=True)
    with open(HERE / "corpus/products.jsonl", "w") as fh:
        for d in docs:
            fh.write(json.dumps(d) + "\n")
    with open(HERE / "corpus/reviews.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["product_title", "rating", "review_title", "review_text"])
        w.writerows(reviews)

    seeds, evals = [], []
    per_type = {}
    for builder in (multiple_choice, ranking, retrieval, named_entities, generation, classification):
        pool = builder()
        task_type = pool[0]["task_type"]
        per_type[task_type] = choose(pool, SEEDS_PER_TYPE, EVAL_PER_TYPE, seeds, evals)
    (HERE / "seed").mkdir(exist_ok=True)
    (HERE / "eval").mkdir(exist_ok=True)
    with open(HERE / "seed/seed_tasks.jsonl", "w") as fh:
        for t in seeds:
            fh.write(json.dumps(t, ensure_ascii=False) + "\n")
    for task_type, tasks in per_type.items():
        with open(HERE / f"eval/{task_type}.jsonl", "w") as fh:
            for t in tasks:
                fh.write(json.dumps(t, ensure_ascii=False) + "\n")
    print(
        f"{len(docs)} products, {len(reviews)} reviews, {len(seeds)} seeds, "
        + ", ".join(f"{k}: {len(v)}" for k, v in per_type.items())
    )


if __name__ == "__main__":
    main()
