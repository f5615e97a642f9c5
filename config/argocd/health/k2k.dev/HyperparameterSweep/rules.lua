-- HyperparameterSweep: Healthy once it ended with a best trial (all trials done, the target
-- reached or the grid exhausted), naming where the best model is; Degraded when it ended without
-- one (too many failed trials, none succeeded). A finished sweep stays finished when suspended.
local best = obj.status.bestTrial
return toTheEnd(best and best.artifact)
