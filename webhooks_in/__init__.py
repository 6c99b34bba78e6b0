"""The webhook ingress: accepts Bitrix24's outbound events and enqueues dedupe jobs."""
