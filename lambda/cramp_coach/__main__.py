from cramp_coach.hosting.cli import main

raise SystemExit(main())
