"""``python -m prodigy RECIPE ARGS...``: resolve the recipe as Prodigy's command
line does, run one batch through it with every task accepted, print a JSON
summary (and which heavy modules were loaded before the recipe ran)."""

import json
import sys

from prodigy import get_recipe

name, *argv = sys.argv[1:]
recipe = get_recipe(name)
loaded_before_run = sorted(m for m in ("torch", "numpy", "pandas", "weaksup.prodigy.loops") if m in sys.modules)
components = recipe(*argv, use_plac=True)
stream = components["stream"]
batch = [next(stream) for _ in range(components["config"]["batch_size"])]
answers = []
for task in batch:
    answer = {**task, "answer": "accept"}
    if components["view_id"] == "choice":
        answer["accept"] = [task["options"][0]["id"]]
    answers.append(answer)
loss = components["update"](answers)
print(json.dumps({
    "recipe": getattr(recipe, "recipe_name", None),
    "loaded_before_run": loaded_before_run,
    "dataset": components["dataset"],
    "view_id": components["view_id"],
    "tasks": [task["text"] for task in batch],
    "hashed": all("_task_hash" in task for task in batch),
    "progress": components["progress"](),
    "loss": loss,
}))
