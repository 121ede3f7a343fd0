"""What users run against their tenancy.

`make deploy` / `make destroy` (deploy.py), `make smoke` (smoke.py) and `make stack`
(stack.py). The function itself is func.py and genai_fn/; dev/ holds what only
helps development.
"""
