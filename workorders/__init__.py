"""Call records and work orders (诉求工单): the hotline's durable state."""
