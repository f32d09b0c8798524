from cramp_coach.cli import main

raise SystemExit(main())
