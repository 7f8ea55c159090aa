"""The JSON API at /api/v1 (personal access tokens) and the page to manage those tokens."""
