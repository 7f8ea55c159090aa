"""Progress: verified hours, feedback and the step to the next stage; masters endorse it."""
