-- TrainingJob: Healthy once Succeeded, naming the artifact it wrote.
return toTheEnd(obj.status.artifact)
