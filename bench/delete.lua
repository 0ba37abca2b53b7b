-- wrk script: every request is a DELETE (the wrong-method path); the argument is not used.
wrk.method = "DELETE"
