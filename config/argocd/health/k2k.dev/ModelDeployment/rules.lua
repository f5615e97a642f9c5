-- ModelDeployment: it never ends. Ready (every model server pod runs the current spec and has
-- loaded the model) is Healthy. What retrying cannot fix is Stalled and Degraded: a refusal, a
-- failed TrainingJob, an artifact that can never load, a rollout past its deadline. Everything else
-- (waiting for the TrainingJob, pods starting or loading, a rollout) is Progressing.
local stalled = find("Stalled")
if holds(stalled) then return { status = "Degraded", message = said(stalled) } end
local ready = find("Ready")
if holds(ready) then return { status = "Healthy", message = said(ready) } end
return progressing()
