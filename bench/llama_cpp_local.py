"""llama.cpp (llama-cpp-python) on the default's GGUF file, for bench_local_server.py.

Run by another Python that has `llama_cpp` (it is not a shoplora dependency: PyPI ships it as
source only). Reads {"gguf": path, "threads": n, "requests": [...]} on stdin, answers each
request in turn (the library decodes one sequence at a time), and prints one JSON line:
seconds, completion tokens and finish reasons.
"""

import json
import sys
import time

from llama_cpp import Llama

job = json.load(sys.stdin)
started = time.perf_counter()
llm = Llama(model_path=job["gguf"], n_ctx=4096, n_threads=job["threads"], seed=0, verbose=False)
loaded = time.perf_counter()
tokens, reasons, texts = 0, [], []
for request in job["requests"]:
    sampling = request["sampling"]
    answer = llm.create_chat_completion(
        messages=request["messages"],
        # llama-cpp-python's form of a JSON-schema response: a grammar built from the schema.
        response_format={"type": "json_object", "schema": request["schema"]},
        temperature=sampling["temperature"],
        top_p=sampling["top_p"],
        repeat_penalty=sampling["repetition_penalty"],
        max_tokens=sampling["max_tokens"],
        seed=sampling["seed"],
    )
    tokens += answer["usage"]["completion_tokens"]
    reasons.append(answer["choices"][0]["finish_reason"])
    texts.append(answer["choices"][0]["message"]["content"])
done = time.perf_counter()
print(
    json.dumps(
        {"load_s": loaded - started, "seconds": done - loaded, "tokens": tokens, "reasons": reasons, "texts": texts}
    )
)
