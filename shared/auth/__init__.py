"""Bearer-token authentication with the roles of docs/contract.md §2."""
from shared.auth.principals import ROLES, Principal, hash_token, new_token

__all__ = ["ROLES", "Principal", "hash_token", "new_token"]
