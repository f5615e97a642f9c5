"""The sweep benchmark's peer: Optuna's TPESampler with its defaults on the same objectives.

Reads a JSON job on stdin ({objectives: [{name, space, optimum, tolerance}], seeds, budget,
check: [{objective, parameters}]}) and writes JSON on stdout: trials to target per objective and
seed (null when the budget ran out) and f at the check points, so the caller can prove both sides
evaluate the same functions.
"""

import json
import math
import sys

import optuna


def quadratic(x):
    return (x["x"] - 1.5) ** 2 + 0.1 * (x["n"] - 3) ** 2 + (math.log10(x["learningRate"]) + 3) ** 2


def branin(x):
    x1, x2 = x["x1"], x["x2"]
    b = 5.1 / (4 * math.pi**2)
    c = 5 / math.pi
    return (x2 - b * x1**2 + c * x1 - 6) ** 2 + 10 * (1 - 1 / (8 * math.pi)) * math.cos(x1) + 10


def categorical(x):
    o = x["optimizer"]
    optimizer = {"sgd": 1.2, "momentum": 0.6, "rmsprop": 0.3, "adam": 0, "adagrad": 0.9}[o]
    best_log_lr = {"sgd": -1, "momentum": -1.5, "rmsprop": -3, "adam": -3, "adagrad": -2}[o]
    activation = {"relu": 0, "tanh": 0.5, "sigmoid": 1, "elu": 0.1, "selu": 0.3}[x["activation"]]
    batch = {"16": 0.4, "32": 0.1, "64": 0, "128": 0.2, "256": 0.6}[x["batchSize"]]
    return optimizer + activation + batch + 0.5 * (math.log10(x["learningRate"]) - best_log_lr) ** 2


FUNCTIONS = {"quadratic": quadratic, "branin": branin, "categorical": categorical}


def suggest(trial, dim):
    log = dim.get("scale") == "log"
    if dim["type"] == "double":
        return trial.suggest_float(dim["name"], dim["min"], dim["max"], log=log)
    if dim["type"] == "int":
        return trial.suggest_int(dim["name"], dim["min"], dim["max"], log=log)
    return trial.suggest_categorical(dim["name"], dim["values"])


def trials_to_target(objective, seed, budget):
    f = FUNCTIONS[objective["name"]]
    target = objective["optimum"] + objective["tolerance"]
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=seed), direction="minimize")
    for n in range(1, budget + 1):
        trial = study.ask()
        value = f({d["name"]: suggest(trial, d) for d in objective["space"]})
        study.tell(trial, value)
        if value <= target:
            return n
    return None


def main():
    job = json.load(sys.stdin)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    results = {
        o["name"]: [trials_to_target(o, seed, job["budget"]) for seed in job["seeds"]]
        for o in job["objectives"]
    }
    check = [FUNCTIONS[c["objective"]](c["parameters"]) for c in job["check"]]
    json.dump({"version": optuna.__version__, "results": results, "check": check}, sys.stdout)


if __name__ == "__main__":
    main()
