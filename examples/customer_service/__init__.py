"""The customer-service example: a phone support desk for a small online shop.

Load it with `agentkit validate examples/customer_service/agents.yaml`; the modules here are
imported by the loader (`tools:verify_customer`, `store:new_context`, ...), not by users.
"""
